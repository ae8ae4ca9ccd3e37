// Running a job's payload as its owner: an agent turn through the agent runtime (so it goes through
// the tenant's quotas, admission and the usage ledger like any chat.send), or a command in the
// tenant's sandbox (the same mode, limits and egress as RPC exec). Either ends when the run's signal
// aborts (the tenant stopped, the gateway closes).
import { toAppError } from "../../core/errors.ts";
import type { OpContext } from "../../edge/actor.ts";
import type { TenantIdentity, TenantScope } from "../../edge/tenant-scope.ts";
import type { RunsService } from "../agents/runs.service.ts";
import type { SandboxService } from "../sandbox/sandbox.service.ts";
import type { CronJob } from "./cron.types.ts";

/** A run's output as recorded (the whole answer of an agent turn is in its session's transcript). */
export const OUTPUT_MAX_BYTES = 4096;

export interface PayloadResult {
  status: "ok" | "error";
  error: string | null;
  output: string | null;
  usage: { inputTokens: number; outputTokens: number; costMicroUsd: number };
}

export interface PayloadDeps {
  runs: RunsService;
  sandbox: SandboxService;
}

/** Runs a payload; `onRef` hears the agent run's or sandbox run's id once there is one. */
export type PayloadRunner = (identity: TenantScope & TenantIdentity, job: CronJob, runId: string, signal: AbortSignal, onRef: (ref: string) => void) => Promise<PayloadResult>;

const NO_USAGE = { inputTokens: 0, outputTokens: 0, costMicroUsd: 0 };

export function cut(text: string | null, max = OUTPUT_MAX_BYTES): string | null {
  if (text === null) return null;
  const b = Buffer.from(text, "utf8");
  if (b.length <= max) return text;
  return `${new TextDecoder().decode(b.subarray(0, max)).replace(/\uFFFD+$/, "")}…`;
}

export function createPayloadRunner(deps: PayloadDeps): PayloadRunner {
  return async (identity, job, runId, signal, onRef) => {
    const p = job.payload;
    try {
      identity.assertCurrent();
      if (p.kind === "agentTurn") {
        const op: OpContext = { actor: identity.actor, requestId: `cron_${runId}` };
        const sessionKey = p.isolated ? `cron:${job.id}:${runId}` : (p.sessionKey ?? `cron:${job.id}`);
        const sent = deps.runs.send(identity, { sessionKey, agentId: p.agentId, message: p.message, idempotencyKey: `cron:${runId}` }, op);
        onRef(sent.runId);
        const abort = () => deps.runs.abort(identity, { runId: sent.runId });
        signal.addEventListener("abort", abort, { once: true });
        try {
          await sent.durable;
          const end = sent.done ? await sent.done : ((await deps.runs.wait(identity, { runId: sent.runId, timeoutMs: 300_000 })) as never);
          return { status: end.status === "ok" ? "ok" : "error", error: end.status === "ok" ? null : `${end.error?.code ?? end.status}: ${end.error?.message ?? end.stopReason}`, output: cut(end.text), usage: end.usage ?? NO_USAGE };
        } finally {
          signal.removeEventListener("abort", abort);
        }
      }
      const info = deps.sandbox.info(identity);
      const timeoutSeconds = Math.max(1, Math.min(p.timeoutSeconds ?? 60, info.limits.timeoutSeconds));
      const r = await deps.sandbox.run({
        tenant: identity,
        command: [p.command, ...(p.args ?? [])],
        timeoutSeconds,
        // As RPC exec: only with egress entries for "exec" (admin ceiling ∩ overlay) does the run get a network.
        tool: info.egress.exec ? "exec" : undefined,
        origin: "rpc",
        signal,
      });
      onRef(r.runId);
      const ok = r.exitCode === 0 && !r.killedReason;
      const why = r.killedReason ? `killed: ${r.killedReason}` : `exit code ${r.exitCode ?? "none"}${r.signal ? ` (${r.signal})` : ""}`;
      const stderr = r.stderr.trim();
      return { status: ok ? "ok" : "error", error: ok ? null : cut(`${why}${stderr ? `: ${stderr.slice(-1000)}` : ""}`, 1024), output: cut(r.stdout), usage: NO_USAGE };
    } catch (err) {
      const e = toAppError(err);
      return { status: "error", error: `${e.code}: ${e.message}`.slice(0, 1024), output: null, usage: NO_USAGE };
    }
  };
}
