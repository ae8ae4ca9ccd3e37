// `sessions.list`, `sessions.get`, `sessions.subscribe` / `unsubscribe`, `sessions.reset`,
// `sessions.delete`: the tenant's own sessions (the agent runtime's index and transcripts), in
// upstream's shapes. Listing is newest first by offset, at most 500 a page. Reset and delete end the
// session's run first and are audited by the runtime; each takes one of the tenant's audited changes.
// A key the tenant has no session under is "session not found" — the same for a key another tenant uses.
import { attachEvents, followMessages, MAX_MESSAGE_SUBSCRIPTIONS, setSubscribed } from "../events.ts";
import { params, type Params } from "../method-params.ts";
import { V4Error, type V4Context, type V4Method } from "../methods.ts";
import { agentDefaults, agentIdParam, DEFAULT_AGENT, HISTORY_DEFAULT_MESSAGES, HISTORY_MAX_BYTES, HISTORY_MAX_MESSAGES, historyPage, sessionKeyParam, sessionRow } from "../session-view.ts";
import type { SessionRow } from "../../agents/sessions.service.ts";
import { takeChange, opOf, type TurnDeps } from "../turns.ts";

const LIST_MAX = 500;
const LIST_DEFAULT = 100;

/**
 * Filters on what this gateway does not keep — sessions spawned by others, labels, projects, groups,
 * pins, archives, boards, owners — select nothing here (answering with every session instead made the
 * Control UI show `agent:main:main` as its own child).
 */
const UNKEPT = ["spawnedBy", "label", "projectId", "workspaceDir", "creatorId", "ownerId", "involvingProfileId", "profileRelation", "boardFace"];
const selectsNothing = (raw: Record<string, unknown>) =>
  UNKEPT.some((k) => raw[k] !== undefined && raw[k] !== null) || raw.pinned === true || raw.archived === true || raw.hasBoard === true || (typeof raw.group === "string" && raw.group !== "");
/** Sessions a filtered listing (search, activeOnly) reads at most, newest first. */
const FILTER_SCAN = 5000;

export function sessionsMethods(svc: TurnDeps): V4Method[] {
  function list(ctx: V4Context, p: Params, raw: Record<string, unknown>) {
    const limit = Math.min(p.int("limit", { min: 1 }) ?? LIST_DEFAULT, LIST_MAX);
    const offset = p.int("offset", { min: 0 }) ?? 0;
    const agentId = agentIdParam(p);
    const search = p.str("search", { max: 200 })?.trim().toLowerCase();
    const activeOnly = p.bool("activeOnly") === true;
    const active = (key: string) => svc.runs.activeRun(ctx.tenant, key);
    let page: SessionRow[];
    let total: number;
    if (selectsNothing(raw)) [page, total] = [[], 0];
    else if (search || activeOnly) {
      // Filtered in memory over the newest FILTER_SCAN sessions (the default cap is 1000).
      const all: SessionRow[] = [];
      for (let at = 0; at < FILTER_SCAN; at += LIST_MAX) {
        const { sessions } = svc.sessions.recent(ctx.tenant, { limit: LIST_MAX, offset: at, agentId });
        all.push(...sessions);
        if (sessions.length < LIST_MAX) break;
      }
      const hits = all.filter((s) => (!search || s.key.includes(search)) && (!activeOnly || active(s.key) !== null));
      [page, total] = [hits.slice(offset, offset + limit), hits.length];
    } else {
      const r = svc.sessions.recent(ctx.tenant, { limit, offset, agentId });
      [page, total] = [r.sessions, r.total];
    }
    const nextOffset = offset + page.length;
    return {
      ts: Date.now(),
      count: page.length,
      totalCount: total,
      limitApplied: limit,
      ...(offset > 0 ? { offset } : {}),
      nextOffset: nextOffset < total ? nextOffset : null,
      hasMore: nextOffset < total,
      defaults: agentDefaults(svc.runs, ctx.tenant, agentId ?? DEFAULT_AGENT),
      sessions: page.map((s) => sessionRow(s, active(s.key))),
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
      mutates: false,
      async handle(ctx, raw) {
        attachEvents(svc, ctx);
        return list(ctx, params("sessions.list", raw), raw);
      },
    },
    {
      name: "sessions.subscribe",
      scope: "operator.read",
      mutates: false,
      async handle(ctx, raw) {
        const p = params("sessions.subscribe", raw);
        attachEvents(svc, ctx);
        setSubscribed(ctx, true);
        // Upstream answers with the list too when the request carries list params.
        return Object.keys(raw ?? {}).length === 0 ? { subscribed: true } : { subscribed: true, list: list(ctx, p, raw) };
      },
    },
    {
      name: "sessions.unsubscribe",
      scope: "operator.read",
      mutates: false,
      async handle(ctx) {
        setSubscribed(ctx, false);
        return { subscribed: false };
      },
    },
    {
      // The Control UI follows the open session's rows as session.message events.
      name: "sessions.messages.subscribe",
      scope: "operator.read",
      mutates: false,
      async handle(ctx, raw) {
        const key = sessionKeyParam(params("sessions.messages.subscribe", raw), "key", true)!;
        attachEvents(svc, ctx);
        if (!followMessages(ctx, key, true)) throw new V4Error("UNAVAILABLE", `this connection follows ${MAX_MESSAGE_SUBSCRIPTIONS} sessions already, the most it may; unsubscribe from one first`);
        return { subscribed: true, key };
      },
    },
    {
      name: "sessions.messages.unsubscribe",
      scope: "operator.read",
      mutates: false,
      async handle(ctx, raw) {
        const key = sessionKeyParam(params("sessions.messages.unsubscribe", raw), "key", true)!;
        followMessages(ctx, key, false);
        return { subscribed: false, key };
      },
    },
    {
      // One session's row ({session: null} for a key the caller has no session under): what the TUI and the UI refresh on session events.
      name: "sessions.describe",
      scope: "operator.read",
      mutates: false,
      async handle(ctx, raw) {
        const key = sessionKeyParam(params("sessions.describe", raw), "key", true)!;
        const row = svc.sessions.find(ctx.tenant, key);
        return { session: row ? sessionRow(row, svc.runs.activeRun(ctx.tenant, key)) : null };
      },
    },
    {
      name: "sessions.get",
      scope: "operator.read",
      mutates: false,
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
      mutates: true,
      handle: (ctx, raw) => change(ctx, raw, "sessions.reset", (key) => ({ ok: true, key, entry: sessionRow(svc.sessions.reset(ctx.tenant, key, opOf(ctx)), null) })),
    },
    {
      name: "sessions.delete",
      scope: "operator.write",
      mutates: true,
      handle: (ctx, raw) =>
        change(ctx, raw, "sessions.delete", (key) => {
          svc.sessions.delete(ctx.tenant, key, opOf(ctx));
          return { ok: true, key, deleted: true, archived: [] };
        }),
    },
  ];
}
