// `sessions.list`, `sessions.get`, `sessions.subscribe` / `unsubscribe`, `sessions.reset`,
// `sessions.delete`: the tenant's own sessions (the agent runtime's index and transcripts), in
// upstream's shapes. Listing is newest first by offset, at most 500 a page. Reset and delete end the
// session's run first and are audited by the runtime; each takes one of the tenant's audited changes.
// A key the tenant has no session under is "session not found" — the same for a key another tenant uses.
import { attachEvents, setSubscribed } from "../events.ts";
import { params, type Params } from "../method-params.ts";
import type { V4Context, V4Method } from "../methods.ts";
import { agentDefaults, agentIdParam, DEFAULT_AGENT, HISTORY_DEFAULT_MESSAGES, HISTORY_MAX_BYTES, HISTORY_MAX_MESSAGES, historyPage, sessionKeyParam, sessionRow } from "../session-view.ts";
import { takeChange, opOf, type TurnDeps } from "../turns.ts";

const LIST_MAX = 500;
const LIST_DEFAULT = 100;

export function sessionsMethods(svc: TurnDeps): V4Method[] {
  function list(ctx: V4Context, p: Params) {
    const limit = Math.min(p.int("limit", { min: 1 }) ?? LIST_DEFAULT, LIST_MAX);
    const offset = p.int("offset", { min: 0 }) ?? 0;
    const agentId = agentIdParam(p);
    const { sessions, total } = svc.sessions.recent(ctx.tenant, { limit, offset, agentId });
    const nextOffset = offset + sessions.length;
    return {
      ts: Date.now(),
      count: sessions.length,
      totalCount: total,
      limitApplied: limit,
      ...(offset > 0 ? { offset } : {}),
      nextOffset: nextOffset < total ? nextOffset : null,
      hasMore: nextOffset < total,
      defaults: agentDefaults(svc.runs, ctx.tenant, agentId ?? DEFAULT_AGENT),
      sessions: sessions.map((s) => sessionRow(s, svc.runs.activeRun(ctx.tenant, s.key))),
    };
  }

  /** Reset or delete: the caller's session under `key` (else the runtime's NOT_FOUND), its run ended first; one audited change. */
  async function change<T>(ctx: V4Context, raw: Record<string, unknown>, method: string, act: (key: string) => T): Promise<T> {
    const key = sessionKeyParam(params(method, raw), "key", true)!;
    svc.sessions.get(ctx.tenant, key);
    takeChange(svc, ctx, method);
    await svc.runs.settleSession(ctx.tenant, key);
    return act(key);
  }

  return [
    {
      name: "sessions.list",
      scope: "operator.read",
      async handle(ctx, raw) {
        attachEvents(svc, ctx);
        return list(ctx, params("sessions.list", raw));
      },
    },
    {
      name: "sessions.subscribe",
      scope: "operator.read",
      async handle(ctx, raw) {
        const p = params("sessions.subscribe", raw);
        attachEvents(svc, ctx);
        setSubscribed(ctx, true);
        // Upstream answers with the list too when the request carries list params.
        return Object.keys(raw ?? {}).length === 0 ? { subscribed: true } : { subscribed: true, list: list(ctx, p) };
      },
    },
    {
      name: "sessions.unsubscribe",
      scope: "operator.read",
      async handle(ctx) {
        setSubscribed(ctx, false);
        return { subscribed: false };
      },
    },
    {
      name: "sessions.get",
      scope: "operator.read",
      async handle(ctx, raw) {
        const p = params("sessions.get", raw);
        const key = sessionKeyParam(p, raw.key !== undefined ? "key" : "sessionKey", true)!;
        const limit = Math.min(p.int("limit", { min: 1 }) ?? HISTORY_DEFAULT_MESSAGES, HISTORY_MAX_MESSAGES);
        const row = svc.sessions.find(ctx.tenant, key);
        if (!row) return { messages: [] }; // upstream's answer for a session it does not have
        const page = historyPage(svc.sessions.entries(ctx.tenant, row.sessionId), row.sessionId, { limit, maxBytes: HISTORY_MAX_BYTES, offset: 0 });
        return { messages: page.messages, session: sessionRow(row, svc.runs.activeRun(ctx.tenant, key)) };
      },
    },
    {
      name: "sessions.reset",
      scope: "operator.write",
      handle: (ctx, raw) => change(ctx, raw, "sessions.reset", (key) => ({ ok: true, key, entry: sessionRow(svc.sessions.reset(ctx.tenant, key, opOf(ctx)), null) })),
    },
    {
      name: "sessions.delete",
      scope: "operator.write",
      handle: (ctx, raw) =>
        change(ctx, raw, "sessions.delete", (key) => {
          svc.sessions.delete(ctx.tenant, key, opOf(ctx));
          return { ok: true, key, deleted: true, archived: [] };
        }),
    },
  ];
}
