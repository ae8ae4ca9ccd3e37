// `chat.send`, `chat.abort`, `chat.history` and `chat.startup`: the TUI's and the Control UI's chat.
// chat.send starts a turn (runs.send, as the RPC chat.send) and acks {runId, status:"started"}; the
// reply streams as `chat` / `agent` events (events.ts). History is the session's transcript as
// upstream's messages: the plain mode (newest page, by offset) and the delta mode the Control UI polls
// with a cursor; both bounded by the client's limit and maxBytes and by our own ceilings.
import { AppError } from "../../../core/errors.ts";
import type { TenantScope } from "../../../edge/tenant-scope.ts";
import { attachEvents } from "../events.ts";
import { params, type Params } from "../method-params.ts";
import type { V4Method } from "../methods.ts";
import {
  agentDefaults,
  agentIdParam,
  agentOfKey,
  DEFAULT_AGENT,
  HISTORY_DEFAULT_MESSAGES,
  HISTORY_MAX_BYTES,
  HISTORY_MAX_MESSAGES,
  historyDelta,
  historyPage,
  inputReceipts,
  sessionKeyParam,
  sessionRow,
  turnAgent,
} from "../session-view.ts";
import { startTurn, type TurnDeps } from "../turns.ts";
import { idempotencyKeyParam, ourRunId, refuseAttachments } from "./agent.ts";

const NO_PENDING = { items: [], total: 0 };

export function chatMethods(svc: TurnDeps): V4Method[] {
  function history(method: string, tenant: TenantScope, p: Params) {
    const sessionKey = sessionKeyParam(p, "sessionKey", true)!;
    const named = agentIdParam(p);
    const limit = Math.min(p.int("limit", { min: 1 }) ?? HISTORY_DEFAULT_MESSAGES, HISTORY_MAX_MESSAGES);
    const maxBytes = Math.min(p.int("maxBytes", { min: 1024 }) ?? HISTORY_MAX_BYTES, HISTORY_MAX_BYTES);
    const offset = p.int("offset", { min: 0 }) ?? 0;
    const cursor = p.str("cursor", { max: 200 });
    const inputRunIds = p.strings("inputRunIds", { max: 50, maxLength: 256 });
    const row = svc.sessions.find(tenant, sessionKey);
    const receipts = () => (inputRunIds ? inputReceipts(row ? svc.sessions.entries(tenant, row.sessionId) : [], row?.sessionId ?? null, inputRunIds) : {});
    const agentId = row?.agentId ?? agentOfKey(sessionKey) ?? named ?? DEFAULT_AGENT;
    const active = row ? svc.runs.activeRun(tenant, sessionKey) : null;
    const sessionInfo = row ? sessionRow(row, active) : undefined;
    const inFlightRun = active ? { runId: active } : undefined;
    if (cursor !== undefined) {
      if (!row) return { kind: "reset" };
      const d = historyDelta(svc.sessions.entries(tenant, row.sessionId), row.sessionId, cursor, { limit, maxBytes });
      if (d.kind === "reset") return d;
      return { ...d, pendingInputs: NO_PENDING, ...receipts(), sessionInfo, ...(inFlightRun ? { inFlightRun } : {}) };
    }
    // A session the tenant does not have (yet) reads as empty: the same for a key another tenant uses.
    const page = row ? historyPage(svc.sessions.entries(tenant, row.sessionId), row.sessionId, { limit, maxBytes, offset }) : { messages: [], totalMessages: 0, offset, hasMore: false };
    return {
      sessionKey,
      ...(row ? { sessionId: row.sessionId } : {}),
      ...page,
      pendingInputs: NO_PENDING,
      ...receipts(),
      defaults: agentDefaults(svc.runs, tenant, agentId),
      ...(sessionInfo ? { sessionInfo } : {}),
      thinkingLevel: "off",
      ...(inFlightRun ? { inFlightRun } : {}),
      ...(method === "chat.startup" ? { metadata: { models: [], commands: [] } } : {}),
    };
  }

  return [
    {
      name: "chat.send",
      scope: "operator.write",
      mutates: true,
      async handle(ctx, raw) {
        const p = params("chat.send", raw);
        const sessionKey = sessionKeyParam(p, "sessionKey", true)!;
        const message = p.str("message", { required: true })!;
        const idempotencyKey = idempotencyKeyParam(p);
        refuseAttachments(p, raw);
        const agentId = turnAgent(p, sessionKey, agentIdParam(p), svc.sessions.find(ctx.tenant, sessionKey)?.agentId);
        const run = await startTurn(svc, ctx, "chat.send", { sessionKey, agentId, message, idempotencyKey });
        // A retried key whose run has ended already: a terminal ack (the client reloads its history).
        // The client names the run by its idempotency key (upstream's run id is that key).
        return { runId: idempotencyKey, status: run.deduped && run.done === null ? "ok" : "started" };
      },
    },
    {
      name: "chat.abort",
      scope: "operator.write",
      mutates: true,
      async handle(ctx, raw) {
        const p = params("chat.abort", raw);
        const sessionKey = sessionKeyParam(p, "sessionKey", true)!;
        const runId = p.str("runId", { max: 256 });
        attachEvents(svc, ctx);
        // Only a run of the named session is aborted; anything else (not the tenant's, not running) aborts nothing.
        const active = svc.runs.activeRun(ctx.tenant, sessionKey);
        if (!active || (runId !== undefined && ourRunId(svc, ctx, runId) !== active)) return { ok: true, aborted: false, runIds: [] };
        const r = svc.runs.abort(ctx.tenant, { runId: active });
        return { ok: true, aborted: r.aborted, runIds: r.aborted ? [runId ?? active] : [] };
      },
    },
    {
      name: "chat.history",
      scope: "operator.read",
      mutates: false,
      async handle(ctx, raw) {
        attachEvents(svc, ctx);
        return history("chat.history", ctx.tenant, params("chat.history", raw));
      },
    },
    {
      name: "chat.startup",
      scope: "operator.read",
      mutates: false,
      async handle(ctx, raw) {
        const p = params("chat.startup", raw);
        if (raw.shortId !== undefined) throw new AppError("INVALID_PARAMS", "short chat links are not supported by this gateway; name the sessionKey");
        attachEvents(svc, ctx);
        return history("chat.startup", ctx.tenant, p);
      },
    },
  ];
}
