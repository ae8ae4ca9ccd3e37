// exec: a command in the tenant's sandbox, under its limits. Egress comes only from the "exec"
// tool's allow-list (the admin's ceiling, opted into by the tenant's overlay); without one the run has
// no network. The run ends with the turn (its timeout is at most the seconds left) and when the run
// is aborted (ctx.signal kills the sandbox's processes).
import { Type as T } from "@sinclair/typebox";
import type { RunResult } from "../../sandbox/sandbox.types.ts";
import { capText, defineTool, fail, ok } from "./common.ts";

const DEFAULT_TIMEOUT = 60;

export const execTool = defineTool({
  name: "exec",
  description:
    "Runs a command in the workspace's sandbox (cwd /work). command is an argv array, or a string run with sh -c. Returns the exit code, stdout and stderr (cut when long). No network unless the tenant's exec allow-list grants it.",
  parameters: T.Object(
    {
      command: T.Union([
        T.Array(T.String({ maxLength: 65_536 }), { minItems: 1, maxItems: 1024, description: "argv" }),
        T.String({ minLength: 1, maxLength: 65_536, description: "a shell command line (sh -c)" }),
      ]),
      stdin: T.Optional(T.String({ maxLength: 1_048_576 })),
      timeoutSeconds: T.Optional(T.Integer({ minimum: 1, maximum: 3600, description: `default ${DEFAULT_TIMEOUT}; never more than the turn has left or the tenant's limit` })),
    },
    { additionalProperties: false },
  ),
  async run(args, ctx) {
    const { sandbox } = ctx.services;
    const left = Math.floor(ctx.secondsLeft);
    if (left < 1) return fail("UNAVAILABLE: no time is left in this turn to run a command");
    const info = sandbox.info(ctx.tenant);
    const timeoutSeconds = Math.max(1, Math.min(args.timeoutSeconds ?? DEFAULT_TIMEOUT, left, info.limits.timeoutSeconds));
    const command = typeof args.command === "string" ? ["/bin/sh", "-c", args.command] : args.command;
    const r = await sandbox.run({
      tenant: ctx.tenant,
      command,
      stdin: args.stdin === undefined ? null : Buffer.from(args.stdin, "utf8"),
      timeoutSeconds,
      mode: ctx.sandboxMode,
      // Only a tool with entries (admin ceiling ∩ overlay) gets a proxy; without, the run has no network.
      tool: info.egress.exec ? "exec" : undefined,
      signal: ctx.signal,
      token: ctx.token,
      origin: "rpc",
      // Read-only folders a module adds (the tenant's skills at /mnt/skills, so their scripts run here).
      ...(ctx.mounts?.length ? { mounts: ctx.mounts } : {}),
    });
    return formatRun(r, ctx.maxOutputBytes, timeoutSeconds);
  },
});

export function formatRun(r: RunResult, maxBytes: number, timeoutSeconds: number) {
  let status = `exit code: ${r.exitCode ?? "none"}`;
  if (r.killedReason === "timeout" || r.timedOut) status += ` (killed: the ${timeoutSeconds} s timeout)`;
  else if (r.killedReason) status += ` (killed: ${r.killedReason})`;
  else if (r.signal) status += ` (signal ${r.signal})`;
  // Half the room each, the rest of one going to the other when it is short.
  const room = Math.max(0, maxBytes - 400);
  const outBytes = Buffer.byteLength(r.stdout);
  const errBytes = Buffer.byteLength(r.stderr);
  const outRoom = Math.max(room - Math.min(errBytes, Math.floor(room / 2)), 0);
  const out = capText(r.stdout, outRoom);
  const err = capText(r.stderr, Math.max(room - Buffer.byteLength(out.text), 0));
  const mark = (cut: boolean, byRun: boolean, total: number) => (cut || byRun ? `\n[output truncated: ${byRun ? "the sandbox's output limit was reached" : `${total} bytes in all`}]` : "");
  const parts = [status];
  parts.push(`stdout:\n${out.text}${mark(out.truncated, r.stdoutTruncated, outBytes)}`);
  if (r.stderr.length > 0 || r.stderrTruncated) parts.push(`stderr:\n${err.text}${mark(err.truncated, r.stderrTruncated, errBytes)}`);
  const truncated = out.truncated || err.truncated || r.stdoutTruncated || r.stderrTruncated;
  const content = parts.join("\n");
  return r.exitCode === 0 && !r.killedReason ? ok(content, truncated) : { content, isError: true, truncated };
}
