// file_search's regular expressions. A tenant-chosen expression never runs on the gateway's event
// loop: JavaScript's engine backtracks, and no syntactic "safe subset" check is sound (a{0,16} said
// ten times then b took 21 s on one 60-character line, freezing every tenant). Instead the gateway
// reads the files itself (through the files service, bounded as a literal search is) and hands their
// text on stdin to `grep -E` in the tenant's own sandbox: GNU grep (bwrap mode) or busybox grep
// (docker image), POSIX extended syntax, under the sandbox's CPU, time and process limits, in this
// tenant's slot, killed at the search's time budget or when the run is aborted. grep prints only the
// numbers of the matching lines; the gateway maps them back to files and shows its own copy of the line.
import { AppError } from "../../../core/errors.ts";
import type { ToolContext } from "./tool.ts";

/** grep -a where grep takes it (GNU grep then never answers "binary file matches" instead of lines). */
const SCRIPT = [
  'a=; echo | grep -a x >/dev/null 2>&1; [ "$?" -eq 1 ] && a=-a',
  // An invalid expression: exit 2 with grep's own message on stderr, on one empty line (busybox compiles it only when a line comes).
  'echo | grep -E $3 -e "$1" >/dev/null || [ "$?" -eq 1 ] || exit 2',
  'grep $a -n -E $3 -m "$2" -e "$1" | cut -d: -f1',
].join("\n");

export interface GrepResult {
  /** 1-based numbers of matching lines in the input, ascending, at most maxResults. */
  lines: number[];
  stoppedBy: "timeout" | "aborted" | null;
  /** The sandbox run's timeout: the search's budget, or less when the turn has less left. */
  timeoutSeconds: number;
}

/** Translates the JavaScript shorthands models write (\d, \w, \s, (?:) into POSIX ERE; refuses what ERE cannot mean. */
export function toPosixEre(pattern: string): string {
  const cls: Record<string, [string, string]> = {
    d: ["[0-9]", "0-9"],
    D: ["[^0-9]", ""],
    w: ["[[:alnum:]_]", "[:alnum:]_"],
    W: ["[^[:alnum:]_]", ""],
    s: ["[[:space:]]", "[:space:]"],
    S: ["[^[:space:]]", ""],
  };
  let out = "";
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\") {
      const n = pattern[i + 1];
      if (n === undefined) throw new AppError("INVALID_PARAMS", "pattern is not a valid regular expression: it ends with a lone \\");
      i++;
      if (/[1-9]/.test(n) || n === "k") throw new AppError("INVALID_PARAMS", "pattern uses a backreference, which POSIX extended regular expressions (grep -E) do not support here");
      if (n in cls) {
        const [outside, inside] = cls[n]!;
        if (inClass && !inside) throw new AppError("INVALID_PARAMS", `pattern uses \\${n} inside [...], which grep -E cannot express; write the class out`);
        out += inClass ? inside : outside;
      } else if (/[A-Za-z0-9]/.test(n)) {
        throw new AppError("INVALID_PARAMS", `pattern uses \\${n}, which POSIX extended regular expressions (grep -E) do not have; supported escapes: \\d \\D \\w \\W \\s \\S and \\ before punctuation`);
      } else out += inClass ? n : `\\${n}`;
    } else if (inClass && c === "[" && pattern[i + 1] === ":") {
      const end = pattern.indexOf(":]", i + 2);
      if (end < 0) throw new AppError("INVALID_PARAMS", "pattern is not a valid regular expression: an unclosed [: class");
      out += pattern.slice(i, end + 2);
      i = end + 1;
    } else if (inClass) {
      if (c === "]" && !/\[\^?$/.test(out)) inClass = false;
      out += c;
    } else if (c === "[") {
      inClass = true;
      out += c;
    } else if (c === "(" && pattern[i + 1] === "?") {
      if (pattern[i + 2] !== ":") throw new AppError("INVALID_PARAMS", "pattern uses lookaround or a named group, which POSIX extended regular expressions (grep -E) do not have");
      out += "(";
      i += 2;
    } else out += c;
  }
  return out;
}

/** Runs grep -E over `input` in the tenant's sandbox; INVALID_PARAMS when grep refuses the expression. */
export async function grepInSandbox(ctx: ToolContext, pattern: string, ignoreCase: boolean, input: Uint8Array, maxResults: number, budgetMs: number): Promise<GrepResult> {
  const ere = toPosixEre(pattern);
  const { sandbox } = ctx.services;
  const info = sandbox.info(ctx.tenant);
  const timeoutSeconds = Math.max(1, Math.min(Math.ceil(budgetMs / 1000), Math.floor(ctx.secondsLeft), info.limits.timeoutSeconds));
  const r = await sandbox.run({
    tenant: ctx.tenant,
    command: ["/bin/sh", "-c", SCRIPT, "file_search", ere, String(maxResults), ignoreCase ? "-i" : ""],
    stdin: input.length > 0 ? input : null,
    env: { LC_ALL: "C.UTF-8" },
    timeoutSeconds,
    mode: ctx.sandboxMode,
    signal: ctx.signal,
    token: ctx.token,
    origin: "rpc",
  });
  if (r.killedReason === "aborted") return { lines: [], stoppedBy: "aborted", timeoutSeconds };
  if (r.killedReason && r.killedReason !== "timeout") throw new AppError("UNAVAILABLE", `the search was stopped: ${r.killedReason}`);
  if (r.exitCode === 2 && !r.timedOut) {
    const why = r.stderr.replace(/^(grep|file_search): /gm, "").trim().split("\n")[0] ?? "";
    throw new AppError("INVALID_PARAMS", `pattern is not a valid regular expression: ${why || "grep -E refused it"}`);
  }
  const lines: number[] = [];
  for (const l of r.stdout.split("\n")) if (/^\d+$/.test(l)) lines.push(Number(l));
  const stoppedBy = r.killedReason === "timeout" || r.timedOut ? "timeout" : null;
  if (!stoppedBy && r.exitCode !== 0 && r.exitCode !== 1 && lines.length === 0) throw new AppError("UNAVAILABLE", `grep in the sandbox failed (exit ${r.exitCode}): ${r.stderr.slice(0, 300)}`);
  return { lines: lines.slice(0, maxResults), stoppedBy, timeoutSeconds };
}
