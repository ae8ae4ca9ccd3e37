// Protocol v4 after the handshake: scopes, unknown methods, the tick, the limits hello-ok advertises
// (frame size, frame rate, connections), two tenants kept apart, and the ends of a connection (the
// tenant stops, its token is revoked, the gateway drains).
import { describe, expect, test } from "bun:test";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { rawHandshake } from "../../helpers/ws.ts";
import { cliParams, harness, v4World, wsWorld } from "./v4-client.ts";

const h = harness();
const conn = (token: string, over: Record<string, unknown> = {}) => h.connect(token, over);
/** Providers and models that exist (a session can be created; its run fails to reach the provider). */
const WITH_MODEL = { providers: { p: { kind: "openai", baseUrl: "http://127.0.0.1:9/v1" } }, models: { m: { provider: "p", upstreamModel: "m", free: true } } };

describe("protocol v4: methods and scopes", () => {
  test("an unknown method gets upstream's 'unknown method' error and the connection stays open", async () => {
    const w = h.world(wsWorld());
    const { c } = await conn(w.a);
    expect((await c.request("board.get", {})).error).toEqual({ code: "INVALID_REQUEST", message: "unknown method: board.get" });
    expect((await c.request("health", {})).ok).toBe(true);
  });

  test("a method whose scope was not granted: FORBIDDEN missing scope; write implies read; admin is never granted, but clamped to read and write", async () => {
    const w = h.world(wsWorld());
    const none = await conn(w.a, { scopes: [] });
    expect(none.hello.auth.scopes).toEqual([]);
    const res = await none.c.request("health", {});
    expect(res.error).toMatchObject({ code: "FORBIDDEN", message: "missing scope: operator.read", details: { code: "MISSING_SCOPE" } });
    // Upstream's `openclaw cron add` asks for operator.admin alone: the most a tenant may have, its own
    // reads and writes, and nothing it names besides (pairing) — never admin itself.
    const admin = await conn(w.a, { scopes: ["operator.admin", "operator.pairing"] });
    expect(admin.hello.auth.scopes).toEqual(["operator.read", "operator.write"]);
    expect((await admin.c.request("agents.list", {})).ok).toBe(true);
    const pairing = await conn(w.a, { scopes: ["operator.pairing", "operator.approvals"] });
    expect(pairing.hello.auth.scopes).toEqual([]);
    expect((await pairing.c.request("agents.list", {})).error.details.code).toBe("MISSING_SCOPE");
    const write = await conn(w.a, { scopes: ["operator.write"] });
    expect(write.hello.auth.scopes).toEqual(["operator.write"]);
    expect((await write.c.request("agents.list", {})).ok).toBe(true);
  });

  test("params that are not an object are refused; the basic methods answer in upstream's shapes", async () => {
    const w = h.world(v4World({}, WITH_MODEL));
    const { c } = await conn(w.a);
    expect((await c.request("health", [1])).error.code).toBe("INVALID_REQUEST");
    const agents = (await c.request("agents.list", {})).payload;
    expect(agents).toMatchObject({ defaultId: "main", mainKey: "main", scope: "per-sender" });
    expect(agents.agents.map((a: any) => a.id)).toEqual(["main"]);
    const cost = (await c.request("usage.cost", { days: 7 })).payload;
    expect(cost).toMatchObject({ days: 7, daily: [], totals: { totalTokens: 0, totalCost: 0 } });
    expect((await c.request("usage.cost", { days: 0 })).error.code).toBe("INVALID_REQUEST");
    const models = (await c.request("models.list", {})).payload as { models: { id: string; provider: string }[] };
    // The operator's provider entry ("p") is not named to a tenant, as on /v1/models.
    expect(models.models).toEqual([{ id: "m", name: "m", provider: "openclawmu" }] as never);
    expect((await c.request("status", {})).payload).toMatchObject({ ok: true, defaultAgentId: "main", activeRuns: 0 });
  });
});

describe("protocol v4: two tenants", () => {
  test("each sees only its own sessions and agents, in hello-ok and in every method", async () => {
    const w = h.world(v4World({}, WITH_MODEL));
    for (const key of ["one", "two"]) w.core.runs.send(scope("alpha"), { sessionKey: key, message: "hi", agentId: "main" }, operatorCtx);
    const a = await conn(w.a);
    const b = await conn(w.b);
    expect(a.hello.snapshot.health.sessions.count).toBe(2);
    expect(a.hello.snapshot.health.sessions.recent.map((r: any) => r.key).sort()).toEqual(["one", "two"]);
    expect(b.hello.snapshot.health.sessions).toEqual({ path: "", count: 0, recent: [] });
    expect((await b.c.request("health", {})).payload.sessions.count).toBe(0);
    expect((await a.c.request("health", {})).payload.sessions.count).toBe(2);
    expect((await b.c.request("status", {})).payload.sessions.count).toBe(0);
    expect((await a.c.request("status", {})).payload.sessions.count).toBe(2);
    expect(JSON.stringify(b.hello)).not.toContain("alpha");
  });
});

describe("protocol v4: keep-alive and limits", () => {
  test("a tick every policy.tickIntervalMs, each event with the next per-connection seq", async () => {
    const w = h.world(wsWorld({ openclawProtocol: { tickIntervalMs: 1000 } }));
    const { c, hello } = await conn(w.a);
    expect(hello.policy.tickIntervalMs).toBe(1000);
    const t1 = await c.nextEvent("tick", 3000);
    const t2 = await c.nextEvent("tick", 3000);
    expect(t1.payload.ts).toBeGreaterThan(0);
    expect(t2.seq).toBe(t1.seq + 1);
    expect(t1.seq).toBe(1);
  });

  test("a frame larger than policy.maxPayload closes the connection (1009)", async () => {
    const w = h.world(wsWorld({ websocket: { maxMessageBytes: 4096 } }));
    const { c, hello } = await conn(w.a);
    expect(hello.policy.maxPayload).toBe(4096);
    c.raw.send(JSON.stringify({ type: "req", id: "big", method: "health", params: { pad: "x".repeat(5000) } }));
    expect((await c.waitClosed()).code).toBe(1009);
  });

  test("a result larger than policy.maxBufferedBytes is answered with an error instead, and the connection stays", async () => {
    const models = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`model-with-a-rather-long-name-number-${i}`, { provider: "p", upstreamModel: "m", free: true }]));
    const w = h.world(v4World({ websocket: { maxBufferedBytes: 16_384 } }, { ...WITH_MODEL, models }));
    const { c } = await conn(w.a);
    const res = await c.request("models.list", {});
    expect(res.error).toMatchObject({ code: "INVALID_REQUEST", details: { code: "PAYLOAD_TOO_LARGE", limit: 16_384 } });
    expect((await c.request("health", {})).ok).toBe(true);
  });

  test("frames past the connection's rate are answered UNAVAILABLE (retryable) without running", async () => {
    const w = h.world(wsWorld({ websocket: { messagesPerSecond: 1, messagesBurst: 2 } }));
    const { c } = await conn(w.a);
    const answers = await Promise.all([c.request("health", {}), c.request("health", {}), c.request("health", {})]);
    expect(answers.filter((r) => r.ok).length).toBe(2);
    const refused = answers.find((r) => !r.ok);
    expect(refused.error).toMatchObject({ code: "UNAVAILABLE", retryable: true });
    expect(refused.error.retryAfterMs).toBeGreaterThan(0);
  });

  test("authenticated connections count against the tenant's WebSocket cap: past it, UNAVAILABLE and close", async () => {
    const w = h.world(wsWorld({ websocket: { maxConnectionsPerTenant: 1 } }));
    await conn(w.a);
    const c = await h.open();
    await c.challenge();
    const res = await c.request("connect", cliParams(w.a));
    expect(res.error).toMatchObject({ code: "UNAVAILABLE", retryable: true });
    expect((await c.waitClosed()).code).toBe(1013);
    // Another tenant is not affected.
    expect((await conn(w.b)).hello.type).toBe("hello-ok");
  });

  test("unauthenticated connections are capped per address (429 before the upgrade); authenticating frees the place", async () => {
    const w = h.world(wsWorld({ openclawProtocol: { maxPendingPerIp: 2 } }));
    const p1 = await h.open();
    const p2 = await h.open();
    await p1.challenge();
    await p2.challenge();
    const third = await rawHandshake(w.gw.port, "/");
    expect(third.status).toBe(429);
    await p1.connect(cliParams(w.a));
    const fourth = await rawHandshake(w.gw.port, "/");
    expect(fourth.status).toBe(101);
    fourth.socket.destroy();
  });

  test("unauthenticated connections are capped in all too (503 before the upgrade)", async () => {
    const w = h.world(wsWorld({ openclawProtocol: { maxPending: 1 } }));
    await (await h.open()).challenge();
    const second = await rawHandshake(w.gw.port, "/");
    expect(second.status).toBe(503);
    expect(JSON.parse(second.body).error.message).toContain("gateway.openclawProtocol.maxPending");
  });
});

describe("protocol v4: the end of a connection", () => {
  test("suspending the tenant closes its connections (4001); the other tenant's stay", async () => {
    const w = h.world(wsWorld());
    const a = await conn(w.a);
    const b = await conn(w.b);
    w.core.tenants.suspend(scope("alpha"), operatorCtx);
    expect(await a.c.waitClosed()).toEqual({ code: 4001, reason: "tenant suspended" });
    expect((await b.c.request("health", {})).ok).toBe(true);
  });

  test("revoking the token the connection was opened with closes it (4001)", async () => {
    const w = h.world(wsWorld());
    const a = await conn(w.a);
    w.core.tenants.rotateToken(scope("alpha"), 0, operatorCtx);
    expect(await a.c.waitClosed()).toEqual({ code: 4001, reason: "token revoked" });
  });

  test("the gateway's drain sends `shutdown` then closes (1012), also a connection still in its handshake", async () => {
    const w = h.world(wsWorld());
    const a = await conn(w.a);
    const pending = await h.open();
    await pending.challenge();
    const stopping = w.gw.stop();
    const ev = await a.c.nextEvent("shutdown");
    expect(ev.payload).toEqual({ reason: "gateway stopping" });
    expect(await a.c.waitClosed()).toEqual({ code: 1012, reason: "service restart" });
    expect((await pending.waitClosed()).code).toBe(1012);
    await stopping;
    h.stopped();
  });
});
