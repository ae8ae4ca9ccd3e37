// `agent` and `agent.wait`: what `openclaw agent --message …` calls. `agent` answers twice on one
// request id (upstream's two-stage reply): `accepted` once the run is recorded, then the result when
// it ends. Runs are the agent runtime's (runs.send / runs.wait), keyed by the connection's tenant, so
// another tenant's run id is the same "run not found" as one that never existed.
import { AppError } from "../../../core/errors.ts";
import type { RunEnd } from "../../agents/agent-loop.ts";
import { attachEvents } from "../events.ts";
import { params, type Params } from "../method-params.ts";
import type { V4Context, V4Method } from "../methods.ts";
import { agentIdParam, DEFAULT_AGENT, mainSessionKey, sessionKeyParam, turnAgent } from "../session-view.ts";
import { startTurn, type TurnDeps } from "../turns.ts";

const RUN_ID = /^run_[0-9a-f]{32}$/;
const WAIT_MAX_MS = 300_000;

export function idempotencyKeyParam(p: Params): string {
  return p.str("idempotencyKey", { required: true, max: 128 })!;
}

/** Attachments are not taken (the runtime's turns are text): refused, never silently dropped. */
export function refuseAttachments(p: Params, raw: Record<string, unknown>): void {
  if (Array.isArray(raw.attachments) ? raw.attachments.length > 0 : raw.attachments != null) p.fail("attachments", "are not supported by this gateway (send text)");
}

interface RunView {
  runId: string;
  sessionId?: string;
  agentId?: string;
  status: string;
  stopReason?: string | null;
  errorCode?: string | null;
  errorMessage?: string | null;
  text?: string | null;
  inputTokens?: number;
  outputTokens?: number;
  startedAt?: number;
  endedAt?: number | null;
}

/** The second `res` of `agent`: upstream's {runId, status, summary, result{payloads, meta}}. */
function agentResult(r: RunView, durationMs: number) {
  const usage = { input: r.inputTokens ?? 0, output: r.outputTokens ?? 0, total: (r.inputTokens ?? 0) + (r.outputTokens ?? 0) };
  const meta = { durationMs, stopReason: r.stopReason ?? null, agentMeta: { sessionId: r.sessionId, agentId: r.agentId, usage } };
  if (r.status === "ok") {
    const text = r.text ?? "";
    return { runId: r.runId, status: "ok", summary: "completed", result: { payloads: text ? [{ text, mediaUrl: null }] : [], meta: { ...meta, finalAssistantVisibleText: text } } };
  }
  const why = r.errorMessage ?? (r.status === "running" ? "the run is still going" : "the run failed");
  return { runId: r.runId, status: r.status === "running" ? "timeout" : "error", summary: why, result: { payloads: [], meta: { ...meta, error: { code: r.errorCode ?? null, message: why } } } };
}

const fromEnd = (runId: string, sessionId: string, agentId: string, e: RunEnd): RunView => ({
  runId,
  sessionId,
  agentId,
  status: e.status,
  stopReason: e.stopReason,
  errorCode: e.error?.code ?? null,
  errorMessage: e.error?.message ?? null,
  text: e.text,
  inputTokens: e.usage.inputTokens,
  outputTokens: e.usage.outputTokens,
});

/** Our run id for a client's (our own id, or the idempotency key the run was started with), among the caller's runs. */
export function ourRunId(svc: TurnDeps, ctx: V4Context, clientRunId: string): string | null {
  return RUN_ID.test(clientRunId) ? clientRunId : svc.runs.runOfKey(ctx.tenant, clientRunId);
}

/** Resolves when the connection ends (so a pending second answer is given up, not kept). */
const closed = (ctx: V4Context) => new Promise<null>((resolve) => (ctx.signal.aborted ? resolve(null) : ctx.signal.addEventListener("abort", () => resolve(null), { once: true })));

export function agentMethods(svc: TurnDeps): V4Method[] {
  return [
    {
      name: "agent",
      scope: "operator.write",
      mutates: true,
      async handle(ctx, raw) {
        const p = params("agent", raw);
        const message = p.str("message", { required: true })!;
        const idempotencyKey = idempotencyKeyParam(p);
        refuseAttachments(p, raw);
        const named = agentIdParam(p);
        const sessionKey = sessionKeyParam(p, "sessionKey", false) ?? mainSessionKey(named ?? DEFAULT_AGENT);
        const agentId = turnAgent(p, sessionKey, named, svc.sessions.find(ctx.tenant, sessionKey)?.agentId);
        const run = await startTurn(svc, ctx, "agent", { sessionKey, agentId, message, idempotencyKey });
        // The run is known to the client by its idempotency key (upstream's run id), as in every frame.
        const accepted = { runId: idempotencyKey, sessionKey, agentId: run.agentId, status: "accepted", acceptedAt: run.acceptedAt };
        const final = (async () => {
          await run.released; // the run's events go before its result, as upstream sends them
          const end = run.done ? await Promise.race([run.done, closed(ctx)]) : null;
          if (run.done && end === null) return null; // the connection ended first: nobody to tell
          const view = end ? fromEnd(run.runId, run.sessionId, run.agentId, end) : ((await svc.runs.wait(ctx.tenant, { runId: run.runId, timeoutMs: 0 })) as unknown as RunView);
          return agentResult({ ...view, runId: idempotencyKey }, Date.now() - run.acceptedAt);
        })();
        return { twoStage: true as const, accepted, final };
      },
    },
    {
      // The Control UI asks for the agent's display identity on load (and keeps asking while unanswered).
      name: "agent.identity.get",
      scope: "operator.read",
      mutates: false,
      async handle(ctx, raw) {
        const p = params("agent.identity.get", raw);
        const key = sessionKeyParam(p, "sessionKey", false);
        const named = agentIdParam(p);
        const agentId = key ? turnAgent(p, key, named, svc.sessions.find(ctx.tenant, key)?.agentId) : (named ?? DEFAULT_AGENT);
        const agent = svc.runs.agentFor(ctx.tenant, agentId); // the caller's own agents only (NOT_FOUND otherwise)
        return { agentId: agent.id, name: agent.id === DEFAULT_AGENT ? "Assistant" : agent.id, nameSource: "default", avatarStatus: "none" };
      },
    },
    {
      name: "agent.wait",
      scope: "operator.read",
      mutates: false,
      async handle(ctx, raw) {
        const p = params("agent.wait", raw);
        const runId = p.str("runId", { required: true, max: 256 })!;
        const timeoutMs = Math.min(p.int("timeoutMs", { min: 0 }) ?? 30_000, WAIT_MAX_MS);
        const ours = ourRunId(svc, ctx, runId);
        if (!ours) throw new AppError("NOT_FOUND", "run not found");
        attachEvents(svc, ctx);
        const r = (await svc.runs.wait(ctx.tenant, { runId: ours, timeoutMs })) as unknown as RunView;
        const status = r.status === "ok" ? "ok" : r.status === "running" ? "timeout" : "error";
        return {
          runId,
          status,
          ...(r.startedAt ? { startedAt: r.startedAt } : {}),
          ...(r.endedAt ? { endedAt: r.endedAt } : {}),
          ...(r.stopReason ? { stopReason: r.stopReason } : {}),
          ...(status === "error" ? { error: r.errorMessage ?? "the run failed" } : {}),
        };
      },
    },
  ];
}
