// The tenant's event bus, as upstream OpenClaw's clients expect to hear it. A connection listens to
// its own tenant's bus only (the bus is keyed by tenant incarnation; the listener goes when the
// connection closes or the tenant stops) and translates: the runtime's chat.delta / chat.tool /
// chat.final / chat.error into upstream's `chat` (status, delta with the increment AND the cumulative
// message, final, aborted, error) and `agent` (lifecycle start/end/error, assistant, tool, usage)
// events, each with the run's own `seq`; `sessions.changed` to a connection that called
// sessions.subscribe, and `session.message` (a transcript row, numbered as chat.history numbers it)
// for the sessions a connection named in sessions.messages.subscribe — as upstream routes them.
//
// Deltas are coalesced per run (at most one each DELTA_MS): each carries the whole text so far, so a
// delta per model token would make a long answer quadratic on the wire. A connection keeps state for
// at most MAX_RUNS runs (a tenant has at most 16 going).
import type { RunsService } from "../agents/runs.service.ts";
import type { SessionsService } from "../agents/sessions.service.ts";
import type { TranscriptEntry } from "../agents/transcript.ts";
import type { EventsService, TenantEvent } from "../events/events.service.ts";
import type { V4Context } from "./methods.ts";
import { agentOfKey } from "./session-view.ts";

/** What the run and session methods and the event translation use of the agent runtime. */
export interface RuntimeDeps {
  runs: RunsService;
  sessions: SessionsService;
  events: EventsService;
}

export const DELTA_MS = 100;
const MAX_RUNS = 64;
const STATE_KEY = "openclaw-protocol.runtime-events";
const SUBSCRIBED_KEY = "openclaw-protocol.sessions-subscribed";
const REASONS: Record<string, string> = { created: "create", reset: "reset", deleted: "delete", updated: "update" };

interface RunState {
  runId: string;
  /** What the clients call the run: the idempotency key it was started with (as upstream's run ids), else our id. */
  clientId: string;
  sessionKey: string;
  sessionId?: string;
  agentId?: string;
  seq: number;
  started: boolean;
  startedAt: number;
  /** The current model call's text so far, and what of it has not been sent. */
  text: string;
  pending: string;
  lastFlush: number;
  timer?: ReturnType<typeof setTimeout>;
  /** Frames kept back until the method that started the run has answered (its ack goes first). */
  held?: [string, unknown][];
  /** Ended while held: forgotten once released. */
  ended?: boolean;
  /** Started by this connection (its user message is known without reading the transcript). */
  local?: boolean;
}

export interface RunEvents {
  /** A run this connection started: its start frames now, everything held until `release`. */
  begin(run: { runId: string; clientId: string; sessionKey: string; sessionId: string; agentId: string; message: string }): void;
  release(runId: string): void;
}

export const isSubscribed = (ctx: V4Context) => ctx.state.get(SUBSCRIBED_KEY) === true;
export const setSubscribed = (ctx: V4Context, on: boolean) => void ctx.state.set(SUBSCRIBED_KEY, on);

const MESSAGES_KEY = "openclaw-protocol.message-subscriptions";
/** Sessions one connection may follow message by message. */
export const MAX_MESSAGE_SUBSCRIPTIONS = 256;
const messageKeys = (ctx: V4Context) => (ctx.state.get(MESSAGES_KEY) as Set<string> | undefined) ?? new Set<string>();
/** sessions.messages.subscribe / unsubscribe: false when the connection already follows as many as it may. */
export function followMessages(ctx: V4Context, key: string, on: boolean): boolean {
  const keys = messageKeys(ctx);
  if (on && !keys.has(key) && keys.size >= MAX_MESSAGE_SUBSCRIPTIONS) return false;
  if (on) keys.add(key);
  else keys.delete(key);
  ctx.state.set(MESSAGES_KEY, keys);
  return true;
}

/** Listens to the connection's tenant's bus (once per connection; later calls return the same). */
export function attachEvents(svc: RuntimeDeps, ctx: V4Context): RunEvents {
  const existing = ctx.state.get(STATE_KEY) as RunEvents | undefined;
  if (existing) return existing;
  const runs = new Map<string, RunState>();
  const send = (event: string, payload: unknown) => {
    if (ctx.signal.aborted) return;
    try {
      ctx.emit(event, payload);
    } catch {
      // The connection is going; its close ends this listener.
    }
  };
  const out = (st: RunState, event: string, payload: unknown) => (st.held ? st.held.push([event, payload]) : send(event, payload));
  const base = (st: RunState) => ({ runId: st.clientId, sessionKey: st.sessionKey, ...(st.agentId ? { agentId: st.agentId } : {}), seq: ++st.seq });
  const chat = (st: RunState, fields: Record<string, unknown>) => out(st, "chat", { ...base(st), ...fields });
  const agent = (st: RunState, stream: string, data: Record<string, unknown>) =>
    out(st, "agent", { ...base(st), ...(st.sessionId ? { sessionId: st.sessionId } : {}), stream, data, ts: Date.now(), isHeartbeat: false });
  const toSubscribed = (st: RunState | null, event: string, payload: Record<string, unknown>) => {
    if (!isSubscribed(ctx)) return;
    if (st) out(st, event, payload);
    else send(event, payload);
  };
  const assistantMessage = (text: string) => ({ role: "assistant", content: [{ type: "text", text }], timestamp: Date.now() });

  function stateOf(runId: string, sessionKey: string): RunState {
    let st = runs.get(runId);
    if (st) return st;
    if (runs.size >= MAX_RUNS) {
      const [oldest, old] = runs.entries().next().value as [string, RunState];
      clearTimeout(old.timer);
      runs.delete(oldest);
    }
    const row = svc.sessions.find(ctx.tenant, sessionKey);
    st = { runId, clientId: runId, sessionKey, sessionId: row?.sessionId, agentId: agentOfKey(sessionKey) ?? row?.agentId, seq: 0, started: false, startedAt: Date.now(), text: "", pending: "", lastFlush: 0 };
    runs.set(runId, st);
    return st;
  }
  function start(st: RunState) {
    if (st.started) return;
    st.started = true;
    // Another connection's (or surface's) run: its user message, and the client's name for the run,
    // are the transcript's (written before the run began).
    let user: TranscriptEntry | undefined;
    let at = 0;
    if (!st.local && st.sessionId) {
      const entries = svc.sessions.entries(ctx.tenant, st.sessionId);
      for (let i = entries.length - 1; i >= Math.max(0, entries.length - 64) && !user; i--) if (entries[i]!.runId === st.runId && entries[i]!.type === "user") [user, at] = [entries[i], i + 1];
      if (typeof user?.idempotencyKey === "string") st.clientId = user.idempotencyKey;
    }
    toSubscribed(st, "sessions.changed", { sessionKey: st.sessionKey, ...(st.agentId ? { agentId: st.agentId } : {}), ...(st.sessionId ? { sessionId: st.sessionId } : {}), reason: "send", ts: Date.now() });
    agent(st, "lifecycle", { phase: "start", startedAt: st.startedAt });
    chat(st, { state: "status", phase: "starting_model" });
    if (user) userRow(st, typeof user.content === "string" ? user.content : "", user.ts, at);
  }
  /** A transcript row to the connections following the session; `seq` is its place in the transcript (as chat.history numbers it). */
  function row(st: RunState, seq: number | null, message: Record<string, unknown>) {
    if (!messageKeys(ctx).has(st.sessionKey)) return;
    const meta = { ...(seq !== null && st.sessionId ? { id: `${st.sessionId}:${seq}`, seq } : {}), runId: st.clientId };
    out(st, "session.message", { sessionKey: st.sessionKey, ...(st.agentId ? { agentId: st.agentId } : {}), message: { ...message, __openclaw: meta } });
  }
  function userRow(st: RunState, content: string, ts: number, seq: number | null) {
    row(st, seq, { role: "user", content, timestamp: ts, idempotencyKey: `${st.clientId}:user` });
  }
  /** How many entries the session's transcript holds now (the last one's place), if it is still the run's. */
  function written(st: RunState): number | null {
    const r = svc.sessions.find(ctx.tenant, st.sessionKey);
    return r && r.sessionId === st.sessionId ? r.entries : null;
  }
  function flush(st: RunState) {
    clearTimeout(st.timer);
    st.timer = undefined;
    if (!st.pending) return;
    const delta = st.pending;
    st.pending = "";
    st.lastFlush = Date.now();
    agent(st, "assistant", { text: st.text, delta });
    chat(st, { state: "delta", deltaText: delta, message: assistantMessage(st.text) });
  }
  function end(st: RunState) {
    clearTimeout(st.timer);
    if (st.held) st.ended = true;
    else runs.delete(st.runId);
    toSubscribed(st, "sessions.changed", { sessionKey: st.sessionKey, ...(st.agentId ? { agentId: st.agentId } : {}), ...(st.sessionId ? { sessionId: st.sessionId } : {}), reason: "update", ts: Date.now() });
  }

  function onEvent(e: TenantEvent) {
    const p = e.params;
    if (e.method === "sessions.changed") {
      const key = String(p.sessionKey);
      toSubscribed(null, "sessions.changed", { sessionKey: key, ...(agentOfKey(key) ? { agentId: agentOfKey(key) } : {}), sessionId: p.sessionId, reason: REASONS[String(p.reason)] ?? "update", ts: Date.now() });
      return;
    }
    if (!e.method.startsWith("chat.") || typeof p.runId !== "string" || typeof p.sessionKey !== "string") return;
    const st = stateOf(p.runId, p.sessionKey);
    start(st);
    switch (e.method) {
      case "chat.delta": {
        const d = typeof p.delta === "string" ? p.delta : "";
        st.text += d;
        st.pending += d;
        const wait = DELTA_MS - (Date.now() - st.lastFlush);
        if (wait <= 0) flush(st);
        else st.timer ??= setTimeout(() => flush(st), wait);
        return;
      }
      case "chat.tool": {
        flush(st);
        if (p.phase === "call") {
          agent(st, "tool", { phase: "start", name: p.name, toolCallId: p.toolCallId, args: p.arguments });
          st.text = ""; // the next model call is a new assistant message
        } else agent(st, "tool", { phase: "result", name: p.name, toolCallId: p.toolCallId, result: p.content, isError: p.isError === true });
        return;
      }
      case "chat.final": {
        flush(st);
        const text = typeof p.text === "string" ? p.text : st.text;
        const u = (p.usage ?? {}) as { inputTokens?: number; outputTokens?: number };
        const usage = { input: u.inputTokens ?? 0, output: u.outputTokens ?? 0, totalTokens: (u.inputTokens ?? 0) + (u.outputTokens ?? 0) };
        agent(st, "usage", { inputTokens: usage.input, outputTokens: usage.output });
        row(st, written(st), { ...assistantMessage(text), usage, stopReason: "stop" });
        agent(st, "lifecycle", { phase: "end", startedAt: st.startedAt, endedAt: Date.now(), stopReason: "stop", aborted: false });
        chat(st, { state: "final", stopReason: "stop", message: assistantMessage(text), usage });
        end(st);
        return;
      }
      case "chat.error": {
        flush(st);
        const aborted = p.code === "ABORTED";
        const message = typeof p.message === "string" ? p.message : "the run failed";
        agent(st, "lifecycle", { phase: aborted ? "end" : "error", startedAt: st.startedAt, endedAt: Date.now(), stopReason: aborted ? "aborted" : "error", aborted, error: message, code: p.code });
        chat(st, { state: aborted ? "aborted" : "error", stopReason: aborted ? "aborted" : "error", errorMessage: message });
        end(st);
        return;
      }
    }
  }

  // A listener that throws is dropped by the bus: a bad moment here (a transcript unreadable) must
  // cost this one event, not every later one of the connection.
  const unsubscribe = svc.events.subscribe(ctx.tenant, (e) => {
    try {
      ctx.batch(() => onEvent(e)); // one runtime event can be several frames: one write
    } catch {
      // (the run's later frames, and its end, still come)
    }
  });
  const close = () => {
    unsubscribe();
    for (const st of runs.values()) clearTimeout(st.timer);
    runs.clear();
  };
  ctx.onClose(close);
  ctx.signal.addEventListener("abort", close, { once: true });

  const api: RunEvents = {
    begin(run) {
      const st = stateOf(run.runId, run.sessionKey);
      st.sessionId = run.sessionId;
      st.agentId = run.agentId;
      st.clientId = run.clientId;
      st.held ??= [];
      st.local = true;
      start(st);
      userRow(st, run.message, st.startedAt, written(st));
    },
    release(runId) {
      const st = runs.get(runId);
      const held = st?.held;
      if (!st || !held) return;
      st.held = undefined;
      ctx.batch(() => {
        for (const [event, payload] of held) send(event, payload);
      });
      if (st.ended) runs.delete(runId);
    },
  };
  ctx.state.set(STATE_KEY, api);
  return api;
}
