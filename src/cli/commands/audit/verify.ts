import fs from "node:fs";
import { defineCommand } from "citty";
import { discoverLogFiles, verifyAuditFiles } from "../../../modules/audit/audit.verify.ts";
import { action, CliError, commonArgs, emit, line, withCore, type CommonArgs } from "../../context.ts";

export default defineCommand({
  meta: {
    name: "verify",
    description: "Check the hash chain of the audit log (default: the live log and its rotated files) against state.db; exit 1 on any problem",
  },
  args: {
    ...commonArgs,
    files: { type: "positional", required: false, description: "log files to check, in any order (rotated files included)" },
    "no-anchor": { type: "boolean", description: "check the files alone, without comparing them to state.db" },
  },
  run: action<CommonArgs & { _: string[]; "no-anchor"?: boolean }>((args) =>
    withCore(args, (core) => {
      const given = args._.filter(Boolean);
      const files = given.length > 0 ? given : discoverLogFiles(core.audit.file);
      for (const f of files) if (!fs.existsSync(f)) throw new CliError(`${f}: no such file`);
      if (files.length === 0) throw new CliError(`no audit log at ${core.audit.file} yet`);
      const report = verifyAuditFiles(files, { anchor: args["no-anchor"] ? undefined : core.audit, liveFile: core.audit.file });
      emit(args, report, () => {
        for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
        const rotated = report.rotatedAway ? `; seq ${report.rotatedAway.from}..${report.rotatedAway.to} rotated away, their committed copies in state.db verify` : "";
        if (report.ok) line(`ok: ${report.records} records, seq ${report.firstSeq ?? "-"}..${report.lastSeq ?? "-"}, ${files.length} file(s), head ${report.lastHash?.slice(0, 12) ?? "-"}${rotated}`);
      });
      if (!report.ok) {
        const p = report.problem!;
        throw new CliError(`${p.file}:${p.line}: ${p.seq !== undefined ? `seq ${p.seq}: ` : ""}${p.message}`);
      }
    }),
  ),
});
