import { defineCommand } from "citty";
import { followLines, lastLines } from "../../../modules/audit/audit.tail.ts";
import { action, CliError, commonArgs, line, withCore, type CommonArgs } from "../../context.ts";

export default defineCommand({
  meta: { name: "tail", description: "Print the last records of the audit log (JSON lines)" },
  args: {
    ...commonArgs,
    n: { type: "string", alias: "n", description: "how many records (default 20)" },
    follow: { type: "boolean", alias: "f", description: "keep printing new records, across rotations" },
  },
  run: action<CommonArgs & { n?: string; follow?: boolean }>(async (args) => {
    const n = args.n === undefined ? 20 : Number(args.n);
    if (!Number.isInteger(n) || n < 0) throw new CliError(`-n must be a non-negative integer (got ${JSON.stringify(args.n)})`);
    const file = await withCore(args, (core) => core.audit.file);
    for (const l of lastLines(file, n)) line(l);
    if (!args.follow) return;
    const stop = new AbortController();
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => stop.abort());
    await followLines(file, (l) => line(l), stop.signal);
  }),
});
