// file_search: a bounded grep over the workspace. The walk goes through the files service (every
// directory opened beneath the workspace; links are listed, never followed, so nothing outside is
// read), and is bounded in files, bytes, time and results. A literal pattern is matched here (indexOf,
// linear, yielding to the event loop); a regular expression never runs on the gateway: the text read
// is handed to grep -E in the tenant's own sandbox (./search-regex.ts).
import { Type as T } from "@sinclair/typebox";
import { AppError } from "../../../core/errors.ts";
import { defineTool, looksBinary, ok } from "./common.ts";
import { globMatcher, literalMatcher, MAX_PATTERN_CHARS } from "./search-pattern.ts";
import { grepInSandbox, toPosixEre } from "./search-regex.ts";

export const SEARCH_LIMITS = {
  maxFiles: 5000,
  maxDirs: 2000,
  maxTotalBytes: 32 * 1024 * 1024,
  maxFileBytes: 2 * 1024 * 1024,
  maxMillis: 5000,
  maxLineChars: 300,
};

const YIELD_EVERY_MS = 10;
const NEWLINE = new Uint8Array([10]);

export const fileSearchTool = defineTool({
  name: "file_search",
  description:
    "Searches text files in the workspace for a pattern (literal by default; regex: true for a POSIX extended regular expression, run with grep -E in the workspace's sandbox: no backreferences or lookaround; \\d \\w \\s and (?:) are accepted). Optional path (a directory to search in) and glob (e.g. *.ts or src/**/*.md). Prints path:line: text for each match.",
  parameters: T.Object(
    {
      pattern: T.String({ minLength: 1, maxLength: MAX_PATTERN_CHARS, description: "text (or, with regex, expression) to look for" }),
      path: T.Optional(T.String({ maxLength: 4096, description: "directory relative to the workspace (default: all of it)" })),
      glob: T.Optional(T.String({ minLength: 1, maxLength: 200, description: "only files whose path matches this glob" })),
      regex: T.Optional(T.Boolean({ description: "treat pattern as a regular expression" })),
      ignoreCase: T.Optional(T.Boolean()),
      maxResults: T.Optional(T.Integer({ minimum: 1, maximum: 500, description: "most matching lines to return (default 50)" })),
    },
    { additionalProperties: false },
  ),
  async run(args, ctx) {
    const { files } = ctx.services;
    if (args.regex) toPosixEre(args.pattern); // refuse what grep -E cannot mean before any reading
    const match = literalMatcher(args.pattern, args.ignoreCase ?? false);
    // Regex mode: the text read is collected for one grep in the sandbox; each line's global number maps back.
    const collected: { rel: string; lines: string[]; first: number }[] = [];
    const chunks: Uint8Array[] = [];
    let inputLines = 0;
    const globOk = args.glob ? globMatcher(args.glob) : () => true;
    const maxResults = args.maxResults ?? 50;
    const deadline = Date.now() + Math.min(SEARCH_LIMITS.maxMillis, Math.max(0, ctx.secondsLeft * 1000));
    const start = files.stat(ctx.tenant, args.path);
    if (start.kind !== "directory") throw new AppError("INVALID_PARAMS", `path ${JSON.stringify(start.path)} is not a directory`);
    const results: string[] = [];
    const stopped: string[] = [];
    let filesScanned = 0;
    let dirsScanned = 0;
    let bytesScanned = 0;
    let lastYield = Date.now();
    const queue: string[] = [start.path];
    walk: while (queue.length > 0) {
      const dir = queue.shift()!;
      if (++dirsScanned > SEARCH_LIMITS.maxDirs) {
        stopped.push(`more than ${SEARCH_LIMITS.maxDirs} directories`);
        break;
      }
      let listing;
      try {
        listing = files.list(ctx.tenant, dir === "" ? undefined : dir, { limit: 10_000 });
      } catch {
        continue; // removed or replaced meanwhile: skip it
      }
      if (listing.truncated) stopped.push(`${dir || "the workspace"} holds more than 10000 entries; only the first were searched`);
      for (const e of listing.entries) {
        const rel = dir === "" ? e.path : `${dir}/${e.path}`;
        if (e.kind === "directory") queue.push(rel);
        if (e.kind !== "file" || !globOk(rel)) continue;
        if (ctx.signal.aborted) return ok("ABORTED: the run was stopped during the search");
        if (Date.now() > deadline) {
          stopped.push(`the ${SEARCH_LIMITS.maxMillis / 1000} s time budget`);
          break walk;
        }
        if (++filesScanned > SEARCH_LIMITS.maxFiles) {
          stopped.push(`more than ${SEARCH_LIMITS.maxFiles} files`);
          break walk;
        }
        if (bytesScanned >= SEARCH_LIMITS.maxTotalBytes) {
          stopped.push(`more than ${SEARCH_LIMITS.maxTotalBytes} bytes read`);
          break walk;
        }
        let r;
        try {
          r = files.read(ctx.tenant, rel, { length: Math.min(SEARCH_LIMITS.maxFileBytes, SEARCH_LIMITS.maxTotalBytes - bytesScanned) });
        } catch {
          continue; // a link, a special file, or gone meanwhile
        }
        bytesScanned += r.bytes.length;
        if (r.bytes.length === 0 || looksBinary(r.bytes)) continue;
        const lines = new TextDecoder().decode(r.bytes).split("\n");
        if (r.truncated) stopped.push(`${rel}: only its first ${r.bytes.length} bytes were searched`);
        if (args.regex) {
          if (lines.at(-1) === "") lines.pop();
          collected.push({ rel, lines, first: inputLines + 1 });
          inputLines += lines.length;
          chunks.push(r.bytes);
          if (r.bytes.at(-1) !== 10) chunks.push(NEWLINE);
          continue;
        }
        for (let i = 0; i < lines.length; i++) {
          // Every line: one line of the worst allowed regex costs tens of milliseconds. The search
          // yields to the event loop every few milliseconds so other tenants' requests go on.
          const now = Date.now();
          if (now > deadline) {
            stopped.push(`the ${SEARCH_LIMITS.maxMillis / 1000} s time budget`);
            break walk;
          }
          if (now - lastYield > YIELD_EVERY_MS) {
            await new Promise((resolve) => setImmediate(resolve));
            lastYield = Date.now();
            if (ctx.signal.aborted) return ok("ABORTED: the run was stopped during the search");
          }
          const line = lines[i]!;
          if (!match(line)) continue;
          const shown = line.length > SEARCH_LIMITS.maxLineChars ? `${line.slice(0, SEARCH_LIMITS.maxLineChars)}…` : line;
          results.push(`${rel}:${i + 1}: ${shown}`);
          if (results.length >= maxResults) {
            stopped.push(`${maxResults} results`);
            break walk;
          }
        }
      }
    }
    if (args.regex && collected.length > 0) {
      const g = await grepInSandbox(ctx, args.pattern, args.ignoreCase ?? false, Buffer.concat(chunks), maxResults, Math.max(1000, deadline - Date.now()));
      if (g.stoppedBy === "aborted" || ctx.signal.aborted) return ok("ABORTED: the run was stopped during the search");
      if (g.stoppedBy === "timeout") stopped.push(`the ${g.timeoutSeconds} s time budget`);
      let f = 0;
      for (const n of g.lines) {
        while (f + 1 < collected.length && collected[f + 1]!.first <= n) f++;
        const file = collected[f]!;
        const line = file.lines[n - file.first] ?? "";
        const shown = line.length > SEARCH_LIMITS.maxLineChars ? `${line.slice(0, SEARCH_LIMITS.maxLineChars)}…` : line;
        results.push(`${file.rel}:${n - file.first + 1}: ${shown}`);
      }
      if (results.length >= maxResults) stopped.push(`${maxResults} results`);
    }
    const summary = `${results.length} match(es) in ${Math.min(filesScanned, SEARCH_LIMITS.maxFiles)} file(s) searched`;
    const body = results.length > 0 ? `${results.join("\n")}\n${summary}` : `no matches; ${summary}`;
    if (stopped.length > 0) return ok(`${body}\n[output truncated: stopped at ${[...new Set(stopped)].slice(0, 5).join("; ")}]`, true);
    return ok(body);
  },
});
