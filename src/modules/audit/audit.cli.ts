// `openclaw audit tail | verify`.
import fs from "node:fs";
import { CliError, commandsFor, commonArgs, type CliTree } from "../module-cli.ts";
import type { AuditLog } from "./audit.service.ts";
import { followLines, lastLines } from "./audit.tail.ts";
import { discoverLogFiles, verifyAuditFiles } from "./audit.verify.ts";

type Services = { audit: AuditLog };
const command = commandsFor<Services>();

const tail = command({
  description: "Print the last records of the audit log (JSON lines)",
  args: {
    ...commonArgs,
    n: { type: "string", alias: "n", description: "how many records (default 20)" },
    follow: { type: "boolean", alias: "f", description: "keep printing new records, across rotations" },
  },
  async run({ audit }, args, io) {
    const n = args.n === undefined ? 20 : Number(args.n);
    if (!Number.isInteger(n) || n < 0) throw new CliError(`-n must be a non-negative integer (got ${JSON.stringify(args.n)})`);
    for (const l of lastLines(audit.file, n)) io.line(l);
    if (args.follow) await followLines(audit.file, (l) => io.line(l), io.signal);
  },
});

const verify = command({
  description: "Check the hash chain of the audit log (default: the live log and its rotated files) against state.db; exit 1 on any problem",
  args: {
    ...commonArgs,
    files: { type: "positional", required: false, description: "log files to check, in any order (rotated files included)" },
    "no-anchor": { type: "boolean", description: "check the files alone, without comparing them to state.db" },
  },
  run({ audit }, args, io) {
    const given = args._.filter(Boolean);
    const files = given.length > 0 ? given : discoverLogFiles(audit.file);
    for (const f of files) if (!fs.existsSync(f)) throw new CliError(`${f}: no such file`);
    if (files.length === 0) throw new CliError(`no audit log at ${audit.file} yet`);
    const report = verifyAuditFiles(files, { anchor: args["no-anchor"] ? undefined : audit, liveFile: audit.file });
    io.emit(report, () => {
      for (const w of report.warnings) io.warn(`warning: ${w}`);
      const rotated = report.rotatedAway ? `; seq ${report.rotatedAway.from}..${report.rotatedAway.to} rotated away, their committed copies in state.db verify` : "";
      if (report.ok) io.line(`ok: ${report.records} records, seq ${report.firstSeq ?? "-"}..${report.lastSeq ?? "-"}, ${files.length} file(s), head ${report.lastHash?.slice(0, 12) ?? "-"}${rotated}`);
    });
    if (!report.ok) {
      const p = report.problem!;
      throw new CliError(`${p.file}:${p.line}: ${p.seq !== undefined ? `seq ${p.seq}: ` : ""}${p.message}`);
    }
  },
});

export const auditCli: CliTree<Services> = {
  audit: { description: "Read and verify the audit log", commands: { tail, verify } },
};
