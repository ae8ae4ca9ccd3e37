// The protocol-v4 history and session methods (chat.history, chat.startup, sessions.*) on the real
// agent runtime: upstream's shapes, bounded pages, the delta cursor, and each tenant's own sessions.
import { afterEach, describe, expect, test } from "bun:test";
import { HISTORY_MAX_BYTES } from "../../../src/modules/openclaw-protocol/session-view.ts";
import { isTerminal, until, v4World, type FakeConn, type V4World } from "./v4-runtime.ts";

let w: V4World;
afterEach(async () => {
  await w?.close();
});

async function turn(conn: FakeConn, sessionKey: string, message: string, key: string = crypto.randomUUID()) {
  const ack = await conn.call("chat.send", { sessionKey, message, idempotencyKey: key });
  await until(conn, isTerminal(ack.runId));
  return ack.runId as string;
}

describe("chat.history and chat.startup", () => {
  test("plain mode: user and assistant messages in upstream's shape, oldest first; startup adds defaults", async () => {
    w = await v4World();
    const runId = await turn(w.a, "agent:main:main", "hi [[words:3]]");
    const h = await w.a.call("chat.history", { sessionKey: "agent:main:main", limit: 200 });
    expect(h).toMatchObject({ sessionKey: "agent:main:main", sessionId: expect.stringMatching(/^s_/), totalMessages: 2, hasMore: false, deltaCursor: expect.any(String), pendingInputs: { items: [], total: 0 } });
    expect(h.messages).toEqual([
      { role: "user", content: "hi [[words:3]]", timestamp: expect.any(Number), idempotencyKey: `${runId}:user`, __openclaw: { id: expect.any(String), seq: 1, runId } },
      expect.objectContaining({ role: "assistant", content: [{ type: "text", text: expect.stringMatching(/^\S+ \S+ \S+$/) }], stopReason: "stop", usage: expect.objectContaining({ output: expect.any(Number) }) }),
    ]);
    const s = await w.a.call("chat.startup", { sessionKey: "agent:main:main", limit: 80, maxBytes: 262144 });
    expect(s.messages).toEqual(h.messages);
    expect(s.defaults).toMatchObject({ model: "gpt-4o-mini", contextTokens: expect.any(Number) });
    expect(s.sessionInfo).toMatchObject({ key: "agent:main:main", agentId: "main", isMain: true, hasActiveRun: false });
    expect(s.metadata).toEqual({ models: [], commands: [] });
    // A session the tenant does not have reads as empty; so does the other tenant's.
    const none = await w.b.call("chat.startup", { sessionKey: "agent:main:main" });
    expect(none).toMatchObject({ sessionKey: "agent:main:main", messages: [], totalMessages: 0 });
    expect(none.sessionId).toBeUndefined();
  });

  test("inputRunIds: each input consumed by the row that holds it (the Control UI clears its pending message by it), else pending", async () => {
    w = await v4World();
    const runId = await turn(w.a, "agent:main:main", "mine", "input-1");
    const h = await w.a.call("chat.history", { sessionKey: "agent:main:main", limit: 80, maxBytes: 262144, inputRunIds: [runId, "not-sent"] });
    const user = h.messages.find((m: any) => m.role === "user");
    expect(h.inputReceipts).toEqual([{ runId, state: "consumed", consumedByEventId: user.__openclaw.id }, { runId: "not-sent", state: "pending" }]);
    expect(h.inputConsumptions).toEqual([{ runId, consumedByEventId: user.__openclaw.id }]);
    const d = await w.a.call("chat.history", { sessionKey: "agent:main:main", cursor: h.deltaCursor, inputRunIds: [runId] });
    expect(d.inputReceipts).toEqual([{ runId, state: "consumed", consumedByEventId: user.__openclaw.id }]);
    // The other tenant's history knows nothing of it.
    expect((await w.b.call("chat.history", { sessionKey: "agent:main:main", inputRunIds: [runId] })).inputReceipts).toEqual([{ runId, state: "pending" }]);
    expect((await w.a.call("chat.history", { sessionKey: "agent:main:main", inputRunIds: "x" }).catch((e) => e)).message).toContain("inputRunIds");
  });

  test("delta mode: only what came after the cursor; a reset session answers kind:reset", async () => {
    w = await v4World();
    await turn(w.a, "agent:main:main", "one");
    const first = await w.a.call("chat.history", { sessionKey: "agent:main:main" });
    const noop = await w.a.call("chat.history", { sessionKey: "agent:main:main", cursor: first.deltaCursor, limit: 80, maxBytes: 262144, inputRunIds: ["x"] });
    expect(noop).toMatchObject({ kind: "delta", messages: [], deltaCursor: first.deltaCursor });
    await turn(w.a, "agent:main:main", "two");
    const d = await w.a.call("chat.history", { sessionKey: "agent:main:main", cursor: first.deltaCursor });
    expect(d.kind).toBe("delta");
    expect(d.messages.map((m: any) => m.role)).toEqual(["user", "assistant"]);
    expect(d.messages[0].content).toBe("two");
    await w.a.call("sessions.reset", { key: "agent:main:main" });
    expect(await w.a.call("chat.history", { sessionKey: "agent:main:main", cursor: d.deltaCursor })).toEqual({ kind: "reset" });
    expect(await w.a.call("chat.history", { sessionKey: "agent:main:main", cursor: "garbage" })).toEqual({ kind: "reset" });
    // Another tenant's cursor is not this session's.
    expect(await w.b.call("chat.history", { sessionKey: "agent:main:main", cursor: d.deltaCursor })).toEqual({ kind: "reset" });
  });

  test("pages are bounded: limit and offset page backwards; maxBytes is honoured and capped by our ceiling", async () => {
    w = await v4World();
    for (const m of ["a", "b", "c"]) await turn(w.a, "s", m);
    const p1 = await w.a.call("chat.history", { sessionKey: "s", limit: 2 });
    expect(p1).toMatchObject({ totalMessages: 6, hasMore: true, nextOffset: 2 });
    expect(p1.messages.map((m: any) => m.role)).toEqual(["user", "assistant"]);
    expect(p1.messages[0].content).toBe("c");
    const p2 = await w.a.call("chat.history", { sessionKey: "s", limit: 2, offset: p1.nextOffset });
    expect(p2.messages[0].content).toBe("b");
    // A message larger than the page is cut to fit (never an endless or empty page).
    await turn(w.a, "big", `long ${"x".repeat(20_000)}`);
    // (the assistant's answer fills the newest page; the long user message is the next one)
    const small = await w.a.call("chat.history", { sessionKey: "big", maxBytes: 4096, offset: 1 });
    expect(Buffer.byteLength(JSON.stringify(small.messages))).toBeLessThanOrEqual(4096);
    expect(small.messages.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(small.messages)).toContain("[cut here");
    // Characters JSON escapes (6 bytes each) are cut to the byte budget too.
    await turn(w.a, "esc", "\u0001".repeat(20_000));
    const esc = await w.a.call("chat.history", { sessionKey: "esc", maxBytes: 4096, offset: 1 });
    expect(esc.messages).toHaveLength(1);
    expect(Buffer.byteLength(JSON.stringify(esc.messages))).toBeLessThanOrEqual(4096);
    const huge = await w.a.call("chat.history", { sessionKey: "big", maxBytes: 1e9, limit: 1e6 });
    expect(Buffer.byteLength(JSON.stringify(huge.messages))).toBeLessThanOrEqual(HISTORY_MAX_BYTES);
    const bad = await w.a.call("chat.history", { sessionKey: "s", limit: 0 }).catch((e) => e);
    expect(bad.message).toContain("limit");
  });
});

describe("sessions.*", () => {
  test("list: newest first, upstream's row and paging fields; only the caller's sessions", async () => {
    w = await v4World();
    await turn(w.a, "agent:main:main", "one");
    await turn(w.a, "agent:main:other", "two");
    await turn(w.b, "agent:main:beta-only", "three");
    const l = await w.a.call("sessions.list", { includeGlobal: true, includeUnknown: true, configuredAgentsOnly: true, limit: 200, includeDerivedTitles: true, includeLastMessage: true, ownerFirst: true, agentId: "main" });
    expect(l).toMatchObject({ count: 2, totalCount: 2, hasMore: false, nextOffset: null, defaults: { model: "gpt-4o-mini" } });
    expect(l.sessions.map((s: any) => s.key)).toEqual(["agent:main:other", "agent:main:main"]);
    expect(l.sessions[1]).toMatchObject({ key: "agent:main:main", sessionId: expect.stringMatching(/^s_/), kind: "direct", agentId: "main", isMain: true, updatedAt: expect.any(Number), status: "done" });
    const page = await w.a.call("sessions.list", { limit: 1 });
    expect(page).toMatchObject({ count: 1, totalCount: 2, hasMore: true, nextOffset: 1 });
    // Filters on what the gateway does not keep select nothing (the Control UI asks for the main session's children).
    expect(await w.a.call("sessions.list", { includeGlobal: false, configuredAgentsOnly: true, limit: 10000, spawnedBy: "agent:main:main" })).toMatchObject({ count: 0, totalCount: 0, sessions: [] });
    for (const f of [{ label: "x" }, { pinned: true }, { archived: true }, { group: "g" }]) expect((await w.a.call("sessions.list", f)).sessions).toEqual([]);
    expect((await w.a.call("sessions.list", { search: "OTHER" })).sessions.map((s: any) => s.key)).toEqual(["agent:main:other"]);
    expect((await w.a.call("sessions.list", { activeOnly: true })).sessions).toEqual([]);
    expect(JSON.stringify(l)).not.toContain("beta-only");
    expect(JSON.stringify(l)).not.toContain("path");
  });

  test("subscribe: sessions.changed reaches a subscribed connection, session.message one following the session; unsubscribe stops them", async () => {
    w = await v4World();
    const other = (await import("./v4-runtime.ts")).connect(w.svc, w.a.ctx.tenant);
    expect(await w.a.call("sessions.subscribe", {})).toEqual({ subscribed: true });
    const withList = await w.a.call("sessions.subscribe", { limit: 5 });
    expect(withList).toMatchObject({ subscribed: true, list: { sessions: [] } });
    await other.call("chat.history", { sessionKey: "x" }); // listens, not subscribed
    const watcher = (await import("./v4-runtime.ts")).connect(w.svc, w.a.ctx.tenant);
    expect(await watcher.call("sessions.messages.subscribe", { key: "agent:main:main", includeApprovals: false })).toEqual({ subscribed: true, key: "agent:main:main" });
    expect(await w.a.call("sessions.messages.subscribe", { key: "agent:main:main" })).toMatchObject({ subscribed: true });
    const runId = await turn(w.a, "agent:main:main", "hello");
    // A following connection that did not start the run is told its user message too (from the
    // transcript); the rows carry the id and seq chat.history gives them (so a client merges them).
    await until(watcher, (f) => f.filter((x) => x.event === "session.message").length === 2);
    const rows = (c: typeof watcher) => c.frames.filter((f) => f.event === "session.message").map((f) => f.payload.message);
    const history = (await w.a.call("chat.history", { sessionKey: "agent:main:main" })).messages;
    for (const c of [watcher, w.a]) {
      expect(rows(c).map((m: any) => [m.role, m.__openclaw])).toEqual(history.map((m: any) => [m.role, m.__openclaw]));
      expect(rows(c)[0]).toMatchObject({ content: "hello", idempotencyKey: `${runId}:user` });
    }
    expect(await watcher.call("sessions.messages.unsubscribe", { key: "agent:main:main" })).toEqual({ subscribed: false, key: "agent:main:main" });
    // What one connection follows is capped.
    for (let i = 0; i < 256; i++) await watcher.call("sessions.messages.subscribe", { key: `k${i}` });
    const full = await watcher.call("sessions.messages.subscribe", { key: "one-more" }).catch((e) => e);
    expect(full).toMatchObject({ code: "UNAVAILABLE" });
    expect(full.message).toContain("256");
    watcher.close();
    const changed = w.a.frames.filter((f) => f.event === "sessions.changed").map((f) => f.payload.reason);
    expect(changed).toEqual(expect.arrayContaining(["create", "send", "update"]));
    await until(other, (f) => f.some((x) => x.event === "chat" && x.payload.state === "final"));
    // Neither subscribed nor following: no session events at all.
    expect(other.frames.filter((f) => f.event === "sessions.changed" || f.event === "session.message")).toEqual([]);
    await w.a.call("sessions.unsubscribe", {});
    const n = w.a.frames.length;
    await w.a.call("sessions.delete", { key: "agent:main:main" });
    expect(w.a.frames.slice(n).filter((f) => f.event === "sessions.changed")).toEqual([]);
    other.close();
  });

  test("get, reset, delete: the caller's own; another tenant's key is not found (delete/reset) or empty (get)", async () => {
    w = await v4World();
    await turn(w.a, "agent:main:main", "hello");
    const got = await w.a.call("sessions.get", { key: "agent:main:main" });
    expect(got.messages.map((m: any) => m.role)).toEqual(["user", "assistant"]);
    expect(await w.b.call("sessions.get", { key: "agent:main:main" })).toEqual({ messages: [] });
    expect((await w.a.call("sessions.describe", { key: "agent:main:main" })).session).toMatchObject({ key: "agent:main:main", agentId: "main", sessionId: got.session.sessionId });
    expect(await w.b.call("sessions.describe", { key: "agent:main:main" })).toEqual({ session: null });
    for (const m of ["sessions.reset", "sessions.delete"]) {
      const theirs = await w.b.call(m, { key: "agent:main:main" }).catch((e) => e);
      const unknown = await w.b.call(m, { key: "agent:main:nothing" }).catch((e) => e);
      expect(theirs.code).toBe("NOT_FOUND");
      expect(theirs.message).toBe(unknown.message);
    }
    const before = got.session.sessionId;
    const reset = await w.a.call("sessions.reset", { key: "agent:main:main", reason: "reset" });
    expect(reset).toMatchObject({ ok: true, key: "agent:main:main", entry: { sessionId: expect.not.stringMatching(before) } });
    expect((await w.a.call("chat.history", { sessionKey: "agent:main:main" })).messages).toEqual([]);
    expect(await w.a.call("sessions.delete", { key: "agent:main:main" })).toMatchObject({ ok: true, key: "agent:main:main", deleted: true });
    expect((await w.rpc("sessions.list", {})).result.sessions).toEqual([]);
    // Audited as every session change is.
    for (const action of ["sessions.create", "sessions.reset", "sessions.delete"]) expect(w.core.audit.query({ action }).map((r) => r.target?.id)).toEqual(["agent:main:main"]);
  });

  test("audited changes over this protocol take from the tenant's budget: refused with RATE_LIMITED and when to retry", async () => {
    w = await v4World({ changeLimits: { perMinute: 1, burst: 2 } });
    await turn(w.a, "s1", "one");
    await turn(w.a, "s2", "two");
    const refused = await w.a.call("chat.send", { sessionKey: "s3", message: "three", idempotencyKey: "k3" }).catch((e) => e);
    expect(refused.code).toBe("RATE_LIMITED");
    expect(refused.message).toContain("retry in");
    // A send into an existing session is not an audited change; nothing was created for the refused one.
    await turn(w.a, "s1", "again");
    expect(w.core.sessions.list(w.a.ctx.tenant).sessions.map((s) => s.key)).toEqual(["s1", "s2"]);
    expect((await w.a.call("sessions.delete", { key: "s1" }).catch((e) => e)).code).toBe("RATE_LIMITED");
    // The other tenant's budget is its own.
    await turn(w.b, "s1", "b");
  });

  test("the budget is the tenant's one budget of audited changes, as configured: changes through /rpc and through this protocol draw from it alike", async () => {
    // (Found by the issue-14 red team: this protocol kept a budget of its own, at fixed limits.)
    w = await v4World({ changeLimits: { perMinute: 1, burst: 2 } });
    const created = await w.rpc("chat.send", { sessionKey: "r1", message: "over rpc" });
    expect(created.error).toBeUndefined();
    await turn(w.a, "s1", "over v4");
    // The budget is spent: this protocol refuses the next change, and so does /rpc.
    const refused = await w.a.call("chat.send", { sessionKey: "s2", message: "two", idempotencyKey: "k2" }).catch((e) => e);
    expect(refused.code).toBe("RATE_LIMITED");
    expect(refused.message).toContain("gateway.limits.tenantChangesPerMinute");
    const again = await w.rpc("chat.send", { sessionKey: "r2", message: "again" });
    expect(again.error?.message).toContain("too many changes");
    expect(w.core.sessions.list(w.a.ctx.tenant).sessions.map((s) => s.key).sort()).toEqual(["r1", "s1"]);
    // The other tenant's budget is its own.
    await turn(w.b, "s1", "b");
  });
});
