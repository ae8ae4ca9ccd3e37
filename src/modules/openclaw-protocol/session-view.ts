// How the agent runtime's sessions look to upstream OpenClaw's clients: session keys, transcript
// entries as upstream's chat messages (pi-ai's shape: user, assistant with text and toolCall parts,
// toolResult), history pages (newest last, by offset from the end, bounded by count and bytes) and
// the delta cursor the Control UI polls with, and session rows.
//
// Session keys are one namespace with the RPC surface: a key names the tenant's session of exactly
// that key (lower-cased, as upstream's clients and gateway do). Upstream's convention
// `agent:<agentId>:<rest>` is honoured: such a key's agent runs it. A call that names no session uses
// upstream's main session of the agent, `agent:<agentId>:main` — so `openclaw agent` creates the
// session `agent:main:main`, listed as that by the RPC `sessions.list` too.
import type { RunsService } from "../agents/runs.service.ts";
import { SESSION_KEY, type SessionRow } from "../agents/sessions.service.ts";
import type { TranscriptEntry } from "../agents/transcript.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import type { Params } from "./method-params.ts";

export const DEFAULT_AGENT = "main";
const AGENT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const AGENT_KEY = /^agent:([a-z0-9][a-z0-9_-]{0,63}):./;
/** Our own ceilings on a history page, whatever the client asks (upstream's limit is 1000 entries). */
export const HISTORY_MAX_MESSAGES = 1000;
/** Half the default unsent-bytes budget of a connection (gateway.websocket.maxBufferedBytes), which bounds one answer. */
export const HISTORY_MAX_BYTES = 512 * 1024;
export const HISTORY_DEFAULT_MESSAGES = 200;

export const mainSessionKey = (agentId: string) => `agent:${agentId}:main`;

/** The agent a key names by upstream's convention, or null. */
export function agentOfKey(key: string): string | null {
  return AGENT_KEY.exec(key)?.[1] ?? null;
}

export function sessionKeyParam(p: Params, field: string, required: boolean): string | undefined {
  const raw = p.str(field, { required, max: 512 });
  if (raw === undefined) return undefined;
  const key = raw.trim().toLowerCase();
  if (!SESSION_KEY.test(key)) p.fail(field, "must be 1-128 characters of a-z, 0-9, ':', '_' and '-'");
  return key;
}

export function agentIdParam(p: Params): string | undefined {
  const raw = p.str("agentId", { max: 64 });
  if (raw === undefined || raw.trim() === "") return undefined;
  const id = raw.trim().toLowerCase();
  if (!AGENT_ID.test(id)) p.fail("agentId", "must be 1-64 characters of a-z, 0-9, '_' and '-'");
  return id;
}

/** The agent that runs a turn of `key`: the key's own (by convention), else the one named, else the session's, else main. */
export function turnAgent(p: Params, key: string, named: string | undefined, recorded: string | undefined): string {
  const inKey = agentOfKey(key);
  if (inKey && named && named !== inKey) p.fail("agentId", `is "${named}" but the session key belongs to agent "${inKey}"`);
  return inKey ?? named ?? recorded ?? DEFAULT_AGENT;
}

type Message = Record<string, unknown>;

function toolArgs(raw: unknown): unknown {
  if (typeof raw !== "string") return raw ?? {};
  try {
    return JSON.parse(raw);
  } catch {
    return {};
  }
}

/**
 * Upstream's clients know a run by the idempotency key they sent with it (upstream's run id is that
 * key); ours are run_…. A run started with a key is shown under the key (the user entry records it),
 * any other under our id.
 */
export function clientRunIds(entries: readonly TranscriptEntry[]): (runId: string) => string {
  const keys = new Map<string, string>();
  for (const e of entries) if (e.type === "user" && typeof e.idempotencyKey === "string") keys.set(e.runId, e.idempotencyKey);
  return (runId) => keys.get(runId) ?? runId;
}

/** One transcript entry as upstream's chat message; `seq` is its 1-based place in the transcript. */
export function toMessage(e: TranscriptEntry, seq: number, sessionId: string, clientRunId: (runId: string) => string = (r) => r): Message | null {
  const runId = clientRunId(e.runId);
  const meta = { id: `${sessionId}:${seq}`, seq, runId };
  const text = (v: unknown) => (typeof v === "string" ? v : "");
  switch (e.type) {
    case "user":
      return { role: "user", content: text(e.content), timestamp: e.ts, idempotencyKey: `${runId}:user`, __openclaw: meta };
    case "assistant": {
      const calls = Array.isArray(e.toolCalls) ? (e.toolCalls as { id: string; name: string; arguments: unknown }[]) : [];
      const content = [...(text(e.text) ? [{ type: "text", text: text(e.text) }] : []), ...calls.map((c) => ({ type: "toolCall", id: c.id, name: c.name, arguments: toolArgs(c.arguments) }))];
      const u = (e.usage ?? null) as { inputTokens?: number; outputTokens?: number } | null;
      const usage = u ? { input: u.inputTokens ?? 0, output: u.outputTokens ?? 0, totalTokens: (u.inputTokens ?? 0) + (u.outputTokens ?? 0) } : undefined;
      return { role: "assistant", content, ...(typeof e.model === "string" ? { model: e.model } : {}), ...(usage ? { usage } : {}), stopReason: calls.length ? "toolUse" : "stop", timestamp: e.ts, __openclaw: meta };
    }
    case "tool_result":
      return { role: "toolResult", toolCallId: e.toolCallId, toolName: e.name, content: [{ type: "text", text: text(e.content) }], isError: e.isError === true, timestamp: e.ts, __openclaw: meta };
    case "error":
    case "abort":
      return { role: "assistant", content: [], stopReason: e.type === "abort" ? "aborted" : "error", errorMessage: text(e.message), timestamp: e.ts, __openclaw: meta };
    default:
      return null; // tool_call entries travel inside their assistant message
  }
}

const bytesOf = (m: unknown) => Buffer.byteLength(JSON.stringify(m));

/** A message cut to fit `budget` bytes (its text parts shortened, marked), for one that alone exceeds a page. */
function shrink(m: Message, budget: number): Message {
  for (let keep = Math.floor(budget / 2); ; keep = Math.floor(keep / 2)) {
    const cut = (s: string) => (s.length > keep ? `${s.slice(0, keep)}\n[cut here: the message is ${s.length} characters]` : s);
    const content = typeof m.content === "string" ? cut(m.content) : Array.isArray(m.content) ? (m.content as Message[]).map((c) => (typeof c.text === "string" ? { ...c, text: cut(c.text) } : c.type === "toolCall" ? { ...c, arguments: {} } : c)) : m.content;
    const out = { ...m, content };
    // Escaped or multi-byte characters take more than a byte each: halve until it fits.
    if (keep <= 16 || bytesOf(out) < budget) return out;
  }
}

/** The message if it fits the page; the first of a page is cut to fit rather than left out (null: the page is full). */
function fitted(m: Message, used: number, max: number, first: boolean): { m: Message; size: number } | null {
  const size = bytesOf(m) + 1;
  if (used + size <= max) return { m, size };
  if (!first) return null;
  const cut = shrink(m, max);
  return { m: cut, size: bytesOf(cut) + 1 };
}

/**
 * Where the inputs a client sent (named by their idempotency keys, `inputRunIds`) stand: consumed by
 * the transcript row that holds them (the id chat.history gives that row), else pending — the Control
 * UI clears its optimistic message by this.
 */
export function inputReceipts(entries: readonly TranscriptEntry[], sessionId: string | null, ids: readonly string[]) {
  const at = new Map<string, number>();
  if (sessionId) entries.forEach((e, i) => e.type === "user" && at.set(typeof e.idempotencyKey === "string" ? e.idempotencyKey : e.runId, i + 1));
  const inputReceipts = ids.map((runId) => (at.has(runId) ? { runId, state: "consumed" as const, consumedByEventId: `${sessionId}:${at.get(runId)}` } : { runId, state: "pending" as const }));
  const inputConsumptions = inputReceipts.flatMap((r) => (r.state === "consumed" ? [{ runId: r.runId, consumedByEventId: r.consumedByEventId }] : []));
  return { inputReceipts, inputConsumptions };
}

export const cursorOf = (sessionId: string, entries: number) => `${sessionId}.${entries}`;

/** The newest messages (skipping `offset` newest), oldest first, within `limit` and `maxBytes`. */
export function historyPage(entries: readonly TranscriptEntry[], sessionId: string, o: { limit: number; maxBytes: number; offset: number }) {
  const shown: number[] = [];
  for (let i = 0; i < entries.length; i++) if (entries[i]!.type !== "tool_call") shown.push(i);
  const ids = clientRunIds(entries);
  const messages: Message[] = [];
  let bytes = 2;
  let at = shown.length - o.offset;
  while (at > 0 && messages.length < o.limit) {
    const i = shown[at - 1]!;
    const fit = fitted(toMessage(entries[i]!, i + 1, sessionId, ids)!, bytes, o.maxBytes, messages.length === 0);
    if (!fit) break;
    messages.unshift(fit.m);
    bytes += fit.size;
    at--;
  }
  const hasMore = at > 0;
  return { messages, totalMessages: shown.length, offset: o.offset, hasMore, ...(hasMore ? { nextOffset: o.offset + messages.length } : {}), deltaCursor: cursorOf(sessionId, entries.length) };
}

/** What was appended after `cursor`; `reset` when the cursor is not of this transcript (a reset session, a bad cursor). */
export function historyDelta(entries: readonly TranscriptEntry[], sessionId: string, cursor: string, o: { limit: number; maxBytes: number }): { kind: "reset" } | { kind: "delta"; messages: Message[]; deltaCursor: string } {
  const m = /^(s_[0-9a-f]{32})\.(\d{1,9})$/.exec(cursor);
  const from = m ? Number(m[2]) : -1;
  if (!m || m[1] !== sessionId || from > entries.length) return { kind: "reset" };
  const ids = clientRunIds(entries);
  const messages: Message[] = [];
  let bytes = 2;
  let i = from;
  for (; i < entries.length && messages.length < o.limit; i++) {
    const msg = toMessage(entries[i]!, i + 1, sessionId, ids);
    if (!msg) continue;
    const fit = fitted(msg, bytes, o.maxBytes, messages.length === 0);
    if (!fit) break;
    messages.push(fit.m);
    bytes += fit.size;
  }
  return { kind: "delta", messages, deltaCursor: cursorOf(sessionId, i) };
}

/** A session as upstream's session row (the fields its clients read; additional properties are allowed). */
export function sessionRow(row: SessionRow, activeRunId: string | null): Message {
  return {
    key: row.key,
    sessionId: row.sessionId,
    kind: "direct",
    agentId: row.agentId,
    displayName: row.key,
    isMain: row.key === mainSessionKey(row.agentId),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    lastActivityAt: row.updatedAt,
    inputTokens: row.inputTokens,
    outputTokens: row.outputTokens,
    totalTokens: row.inputTokens + row.outputTokens,
    estimatedCostUsd: row.costMicroUsd / 1e6,
    hasActiveRun: activeRunId !== null,
    ...(activeRunId ? { status: "running", activeRunIds: [activeRunId] } : row.runs > 0 ? { status: "done" } : {}),
  };
}

/** Upstream's `defaults` block for an agent: its model and context window (empty for an agent the tenant does not have). */
export function agentDefaults(runs: RunsService, tenant: TenantScope, agentId: string): Message {
  try {
    const a = runs.agentFor(tenant, agentId);
    return { modelProvider: "openclawmu", ...(a.model ? { model: a.model } : {}), contextTokens: a.contextWindow };
  } catch {
    return {};
  }
}
