// The tenant WebSocket on GET /rpc with a real client: the same methods as POST /rpc, the tenant's
// events with a per-connection seq, subscriptions, isolation, authentication (header, subprotocol,
// never the URL, the one 401), the origin policy, caps, a slow client closed while the publisher
// goes on, and connections ended when their tenant stops.
import { afterEach, describe, expect, test } from "bun:test";
import { Type as T } from "@sinclair/typebox";
import { defineTenantMethod } from "../../src/edge/rpc.ts";
import { defineModule } from "../../src/modules/module.ts";
import { operatorCtx, scope, testCore } from "../helpers/core.ts";
import { rawHandshake, WsClient, wsWorld, type WsWorld } from "../helpers/ws.ts";

let w: WsWorld | null = null;
const clients: WsClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await w?.close();
  w = null;
});

async function open(url: string, opts: Parameters<typeof WsClient.open>[1]): Promise<WsClient> {
  const c = await WsClient.open(url, opts);
  clients.push(c);
  return c;
}

const port = () => w!.gw.port;

/** A method that waits until the test lets it go: to hold a tenant's RPC place. */
let letGo: (() => void) | null = null;
const holdModule = defineModule({ name: "hold", create: () => ({}) }).with({
  rpc: () => [
    defineTenantMethod({
      name: "test.hold",
      summary: "waits until the test lets it go",
      params: {},
      result: T.Null(),
      mutates: true,
      example: {},
      handler: () => new Promise<null>((resolve) => (letGo = () => resolve(null))),
    }),
  ],
});

describe("WebSocket RPC: calls", () => {
  test("a method call, a batch with a notification, and the spec's errors, as over POST /rpc", async () => {
    w = wsWorld();
    const c = await open(w.url, { token: w.a });
    expect(await c.call("health")).toMatchObject({ jsonrpc: "2.0", id: 1, result: { status: "ok", tenantId: "alpha" } });
    expect((await c.call("tenants.get")).result.tenantId).toBe("alpha");
    c.send([
      { jsonrpc: "2.0", id: "x", method: "health" },
      { jsonrpc: "2.0", method: "health" },
      { jsonrpc: "2.0", id: "y", method: "nope" },
    ]);
    const batch = await c.next((m) => Array.isArray(m), "batch");
    expect(batch.map((r: any) => r.id)).toEqual(["x", "y"]);
    expect(batch[1].error.code).toBe(-32601);
    c.send('{"jsonrpc":"2.0","id":1,');
    expect((await c.next((m) => m.error?.code === -32700, "parse error")).id).toBeNull();
    c.send(`${"[".repeat(100)}${"]".repeat(100)}`);
    expect((await c.next((m) => m.error?.code === -32600 && /deeper|nest/i.test(m.error.message), "depth refusal")).id).toBeNull();
  });

  test("naming another tenant is NOT_FOUND, the same answer as a tenant that does not exist", async () => {
    w = wsWorld();
    const c = await open(w.url, { token: w.a });
    const onB = await c.call("tenants.get", { tenantId: "beta" });
    const onGhost = await c.call("tenants.get", { tenantId: "ghost" });
    expect(onB.error.data.code).toBe("NOT_FOUND");
    expect(onB.error.message.replace("beta", "X")).toBe(onGhost.error.message.replace("ghost", "X"));
  });

  test("sessions.subscribe over POST /rpc answers -32600 'needs a WebSocket connection'", async () => {
    w = wsWorld();
    for (const method of ["sessions.subscribe", "sessions.unsubscribe"]) {
      const res = await fetch(`${w.gw.url}/rpc`, { method: "POST", headers: { authorization: `Bearer ${w.a}`, "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: { sessionKeys: ["s1"] } }) });
      const body = (await res.json()) as any;
      expect(body.error.code).toBe(-32600);
      expect(body.error.data.code).toBe("BAD_REQUEST");
      expect(body.error.message).toContain("needs a WebSocket connection");
    }
  });

  test("frames past the connection's rate are answered RATE_LIMITED and not run", async () => {
    w = wsWorld({ websocket: { messagesBurst: 3, messagesPerSecond: 1 } });
    const c = await open(w.url, { token: w.a });
    for (let i = 1; i <= 5; i++) c.send({ jsonrpc: "2.0", id: i, method: "health" });
    const answers = await Promise.all([1, 2, 3, 4, 5].map((id) => c.next((m) => m.id === id)));
    expect(answers.map((m) => (m.result ? "ok" : m.error.data.code))).toEqual(["ok", "ok", "ok", "RATE_LIMITED", "RATE_LIMITED"]);
  });

  test("the tenant's RPC places are shared with POST /rpc: a frame past them is RATE_LIMITED, not run", async () => {
    w = wsWorld({ limits: { rpcConcurrentPerTenant: 1 } }, [holdModule]);
    const c = await open(w.url, { token: w.a });
    c.send({ jsonrpc: "2.0", id: "held", method: "test.hold" });
    for (let i = 0; i < 100 && !letGo; i++) await Bun.sleep(10);
    expect(letGo).not.toBeNull();
    const refused = await c.call("health");
    expect(refused.error.data.code).toBe("RATE_LIMITED");
    expect(refused.error.message).toContain("rpcConcurrentPerTenant");
    const overHttp = await fetch(`${w.gw.url}/rpc`, { method: "POST", headers: { authorization: `Bearer ${w.a}`, "content-type": "application/json" }, body: '{"jsonrpc":"2.0","id":1,"method":"health"}' });
    expect(overHttp.status).toBe(429);
    // Another tenant is not affected.
    const b = await open(w.url, { token: w.b });
    expect((await b.call("health")).result.tenantId).toBe("beta");
    letGo!();
    expect((await c.next((m) => m.id === "held")).result).toBeNull();
    expect((await c.call("health")).result.tenantId).toBe("alpha");
  });

  test("a frame larger than gateway.websocket.maxMessageBytes closes the connection (1009)", async () => {
    w = wsWorld({ websocket: { maxMessageBytes: 4096 } });
    const c = await open(w.url, { token: w.a });
    c.send({ jsonrpc: "2.0", id: 1, method: "health", params: { pad: "x".repeat(8000) } });
    expect((await c.waitClosed()).code).toBe(1009);
  });
});

describe("WebSocket RPC: events", () => {
  test("the tenant's events arrive as notifications with seq 1, 2, 3… in publish order", async () => {
    w = wsWorld();
    const c = await open(w.url, { token: w.a });
    const c2 = await open(w.url, { token: w.a });
    await c.call("health"); // the connection is listening once it answers
    await c2.call("health");
    w.core.events.publish(scope("alpha"), { method: "sessions.changed", params: { sessionKey: "k0", sessionId: "s", reason: "created" }, sessionKey: "k0" });
    for (let i = 0; i < 50; i++) w.core.events.publish(scope("alpha"), { method: "chat.delta", params: { runId: "r1", sessionKey: "k1", delta: `d${i}` }, sessionKey: "k1", runId: "r1" });
    await c.next((m) => m.params?.delta === "d49", "last delta");
    const got = c.notifications();
    expect(got[0]).toEqual({ jsonrpc: "2.0", method: "sessions.changed", params: { sessionKey: "k0", sessionId: "s", reason: "created", seq: 1 } });
    expect(got.slice(1).map((m) => m.params.delta)).toEqual(Array.from({ length: 50 }, (_, i) => `d${i}`));
    expect(got.map((m) => m.params.seq)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    // seq is the connection's own: a second connection that subscribed to k1 only counts from 1.
    await c2.call("sessions.subscribe", { sessionKeys: ["k1"] });
    w.core.events.publish(scope("alpha"), { method: "chat.delta", params: { runId: "r1", sessionKey: "k1", delta: "late" }, sessionKey: "k1" });
    expect((await c2.next((m) => m.params?.delta === "late")).params.seq).toBe(52);
  });

  test("subscribe: only those sessions' events (and events without a session); unsubscribe: every event again", async () => {
    w = wsWorld();
    const c = await open(w.url, { token: w.a });
    expect((await c.call("sessions.subscribe", { sessionKeys: ["s1"] })).result).toEqual({ sessionKeys: ["s1"] });
    const pub = (sessionKey: string | undefined, tag: string) => w!.core.events.publish(scope("alpha"), { method: "chat.delta", params: { tag }, ...(sessionKey ? { sessionKey } : {}) });
    pub("s1", "a");
    pub("s2", "b");
    pub(undefined, "c");
    pub("s1", "d");
    await c.next((m) => m.params?.tag === "d");
    expect(c.notifications().map((m) => m.params.tag)).toEqual(["a", "c", "d"]);
    expect((await c.call("sessions.subscribe", { sessionKeys: ["s2"] })).result.sessionKeys.sort()).toEqual(["s1", "s2"]);
    expect((await c.call("sessions.unsubscribe", { sessionKeys: ["s1"] })).result).toEqual({ sessionKeys: ["s2"] });
    pub("s1", "e");
    pub("s2", "f");
    await c.next((m) => m.params?.tag === "f");
    expect(c.notifications().map((m) => m.params.tag)).toEqual(["a", "c", "d", "f"]);
    expect((await c.call("sessions.unsubscribe")).result).toEqual({ sessionKeys: [] });
    pub("s3", "g");
    await c.next((m) => m.params?.tag === "g");
    expect((await c.call("sessions.subscribe", { sessionKeys: ["Bad Key"] })).error.code).toBe(-32602);
  });

  test("isolation: A's connection never hears B's events, subscribed to B's session keys or not", async () => {
    w = wsWorld();
    const a = await open(w.url, { token: w.a });
    const a2 = await open(w.url, { token: w.a });
    const b = await open(w.url, { token: w.b });
    await a2.call("sessions.subscribe", { sessionKeys: ["shared-key"] });
    await a.call("health");
    await b.call("health");
    for (const method of ["chat.delta", "chat.tool", "chat.final", "chat.error", "sessions.changed"]) {
      w.core.events.publish(scope("beta"), { method, params: { sessionKey: "shared-key", secret: "beta-secret" }, sessionKey: "shared-key" });
      w.core.events.publish(scope("beta"), { method, params: { secret: "beta-secret" } });
    }
    await b.next((m) => m.method === "sessions.changed" && m.params.sessionKey === undefined);
    expect(b.notifications()).toHaveLength(10);
    w.core.events.publish(scope("alpha"), { method: "chat.delta", params: { marker: true }, sessionKey: "shared-key" });
    await a.next((m) => m.params?.marker);
    await a2.next((m) => m.params?.marker);
    expect(JSON.stringify([a.messages, a2.messages])).not.toContain("beta");
    expect(a.notifications()).toHaveLength(1);
    expect(a2.notifications()).toHaveLength(1);
  });
});

describe("WebSocket RPC: authentication", () => {
  test("by the Authorization header, and by the subprotocol bearer.<token> (answered openclaw.v1 only, never the token)", async () => {
    w = wsWorld();
    const byHeader = await open(w.url, { token: w.a });
    expect((await byHeader.call("health")).result.tenantId).toBe("alpha");
    const bySub = await open(w.url, { protocols: ["openclaw.v1", `bearer.${w.b}`] });
    expect(bySub.ws.protocol).toBe("openclaw.v1");
    expect((await bySub.call("health")).result.tenantId).toBe("beta");
    // Offered token first: Bun would answer the first protocol offered unless told otherwise.
    const raw = await rawHandshake(port(), "/rpc", { "Sec-WebSocket-Protocol": `bearer.${w.a}, openclaw.v1` });
    expect(raw.status).toBe(101);
    expect(raw.head).toMatch(/sec-websocket-protocol: openclaw\.v1\r?$/im);
    expect(raw.head).not.toContain(w.a.slice(0, 12));
    raw.socket.destroy();
  });

  test("a handshake that offers protocols but not openclaw.v1 is refused", async () => {
    w = wsWorld();
    const raw = await rawHandshake(port(), "/rpc", { authorization: `Bearer ${w.a}`, "Sec-WebSocket-Protocol": "chat" });
    expect(raw.status).toBe(400);
    expect(raw.body).toContain("openclaw.v1");
  });

  test("every authentication failure is the one 401 of POST /rpc — a valid token in the URL included", async () => {
    w = wsWorld();
    const post = await fetch(`${w.gw.url}/rpc`, { method: "POST", headers: { authorization: "Bearer ocmu_alpha_wrong", "content-type": "application/json" }, body: "{}" });
    const reference = { status: post.status, body: await post.text(), auth: post.headers.get("www-authenticate") };
    expect(reference.status).toBe(401);
    const attempts: [string, Record<string, string>][] = [
      ["/rpc", {}],
      ["/rpc", { authorization: "Bearer ocmu_alpha_wrong" }],
      ["/rpc", { "Sec-WebSocket-Protocol": "openclaw.v1, bearer.ocmu_alpha_wrong" }],
      [`/rpc?token=${w.a}`, {}],
      [`/rpc?access_token=${encodeURIComponent(w.a)}`, {}],
      [`/rpc?x=1`, { authorization: `Bearer ${w.a}` }],
      [`/rpc?x=1`, { "Sec-WebSocket-Protocol": `openclaw.v1, bearer.${w.a}` }],
    ];
    for (const [target, headers] of attempts) {
      const r = await rawHandshake(port(), target, headers);
      expect({ target, headers, status: r.status, body: r.body }).toEqual({ target, headers, status: 401, body: reference.body });
      expect(r.head.toLowerCase()).toContain(`www-authenticate: ${reference.auth!.toLowerCase()}`);
    }
    await expect(WsClient.open(`${w.url}?token=${w.a}`)).rejects.toThrow();
  });

  test("origin policy: cross-origin refused (403) unless listed; the gateway's own origin and no Origin pass", async () => {
    w = wsWorld({ websocket: { allowedOrigins: ["https://console.example"] } });
    const at = (origin?: string) => rawHandshake(port(), "/rpc", { authorization: `Bearer ${w!.a}`, ...(origin ? { Origin: origin } : {}) });
    const evil = await at("https://evil.example");
    expect(evil.status).toBe(403);
    expect(evil.body).toContain("Origin");
    for (const ok of [undefined, "https://console.example", `http://127.0.0.1:${port()}`]) {
      const r = await at(ok);
      expect({ ok, status: r.status }).toEqual({ ok, status: 101 });
      r.socket.destroy();
    }
  });

  test("GET /rpc without a WebSocket handshake is a clear 400", async () => {
    w = wsWorld();
    const r = await fetch(`${w.gw.url}/rpc`, { headers: { authorization: `Bearer ${w.a}` } });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain("WebSocket");
  });
});

describe("WebSocket RPC: limits and lifetime", () => {
  test("per-tenant cap (429) and global cap (503), with clear refusals; a closed connection frees its place", async () => {
    w = wsWorld({ websocket: { maxConnectionsPerTenant: 2, maxConnections: 3 } });
    const a1 = await open(w.url, { token: w.a });
    await open(w.url, { token: w.a });
    const third = await rawHandshake(port(), "/rpc", { authorization: `Bearer ${w.a}` });
    expect(third.status).toBe(429);
    expect(third.body).toContain("gateway.websocket.maxConnectionsPerTenant");
    await open(w.url, { token: w.b });
    const overall = await rawHandshake(port(), "/rpc", { authorization: `Bearer ${w.b}` });
    expect(overall.status).toBe(503);
    expect(overall.body).toContain("gateway.websocket.maxConnections");
    a1.close();
    await a1.waitClosed();
    for (let i = 0; i < 50 && w.core.wsConnections.count() > 2; i++) await Bun.sleep(20);
    const again = await open(w.url, { token: w.b });
    expect((await again.call("health")).result.tenantId).toBe("beta");
  });

  test("a client that stops reading is closed (4008) while the publisher and the other connections carry on", async () => {
    w = wsWorld({ websocket: { maxBufferedBytes: 262_144 } });
    const slow = await rawHandshake(port(), "/rpc", { authorization: `Bearer ${w.a}` });
    expect(slow.status).toBe(101);
    const fast = await open(w.url, { token: w.a });
    await fast.call("health");
    expect(w.core.wsConnections.count("alpha")).toBe(2);
    const big = "x".repeat(16_384);
    let publishMs = 0;
    let published = 0;
    // 32 MB: far more than the kernel's socket buffers and the connection's cap hold; published as a
    // run would, at a pace the fast client (in this same process) keeps up with.
    for (let i = 0; i < 2_000; i++) {
      const t = performance.now();
      w.core.events.publish(scope("alpha"), { method: "chat.delta", params: { i, delta: big }, sessionKey: "s" });
      publishMs += performance.now() - t;
      published++;
      if (fast.closed) break;
      await Bun.sleep(1);
    }
    expect(fast.closed).toBeNull();
    expect(published).toBe(2_000);
    // The publisher never waited for the slow client: 2,000 publishes took well under a second of its time.
    expect(publishMs).toBeLessThan(2_000);
    await fast.next((m) => m.params?.i === 1_999, "last event on the fast connection", 20_000);
    expect(fast.notifications().map((m) => m.params.seq)).toEqual(Array.from({ length: 2_000 }, (_, i) => i + 1));
    expect(fast.closed).toBeNull();
    expect(w.core.wsConnections.count("alpha")).toBe(1);
    // What the slow client finally reads ends with the close frame: 4008.
    const code = await new Promise<number>((resolve) => {
      let buf = Buffer.alloc(0);
      slow.socket.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
      });
      slow.socket.on("close", () => resolve(closeCodeOf(buf)));
      slow.socket.resume();
    });
    expect(code).toBe(4008);
  }, 60_000);

  test("ping/pong: the gateway pings a quiet connection; a client that answers stays, one that never does is closed", async () => {
    w = wsWorld({ websocket: { idleTimeoutSeconds: 5 } });
    const dead = await rawHandshake(port(), "/rpc", { authorization: `Bearer ${w.a}` });
    expect(dead.status).toBe(101);
    let deadFrames = Buffer.alloc(0);
    const deadClosed = new Promise<number>((resolve) => {
      dead.socket.on("data", (d: Buffer) => (deadFrames = Buffer.concat([deadFrames, d])));
      dead.socket.on("close", () => resolve(performance.now()));
    });
    dead.socket.resume(); // reads, but never answers a ping
    const alive = await open(w.url, { token: w.a }); // Bun's client answers pings by itself
    const started = performance.now();
    const closedAt = await deadClosed;
    expect(closedAt - started).toBeGreaterThan(4_000);
    expect(closedAt - started).toBeLessThan(25_000);
    expect(deadFrames[0]! & 0x0f).toBe(0x9); // it was pinged first
    await Bun.sleep(2_000);
    expect(alive.closed).toBeNull();
    expect((await alive.call("health")).result.tenantId).toBe("alpha");
  }, 40_000);

  test("suspending the tenant closes its connections (4001); another tenant's stay open", async () => {
    w = wsWorld();
    const a = await open(w.url, { token: w.a });
    const b = await open(w.url, { token: w.b });
    await a.call("health");
    w.core.tenants.suspend(scope("alpha"), operatorCtx);
    expect(await a.waitClosed()).toEqual({ code: 4001, reason: "tenant suspended" });
    expect((await b.call("health")).result.tenantId).toBe("beta");
    expect(w.core.wsConnections.count("alpha")).toBe(0);
  });

  test("revoking the token (rotation without grace) closes the connections it opened; the new token connects", async () => {
    w = wsWorld();
    const old = await open(w.url, { token: w.a });
    await old.call("health");
    const { token } = w.core.tenants.rotateToken(scope("alpha"), 0, operatorCtx) as { token: string };
    expect(await old.waitClosed()).toEqual({ code: 4001, reason: "token revoked" });
    const fresh = await open(w.url, { token });
    expect((await fresh.call("health")).result.tenantId).toBe("alpha");
  });

  test("tenants.rotate over the WebSocket: the reply with the new token arrives, then the close (4001) — the tenant is not locked out (red team 13, F1b)", async () => {
    w = wsWorld();
    const c = await open(w.url, { token: w.a });
    const reply = await c.call("tenants.rotate");
    expect(reply.error).toBeUndefined();
    expect(typeof reply.result.token).toBe("string");
    expect(await c.waitClosed()).toEqual({ code: 4001, reason: "token revoked" });
    const fresh = await open(w.url, { token: reply.result.token });
    expect((await fresh.call("health")).result.tenantId).toBe("alpha");
  });

  test("a suspension made by another process (the CLI on the same home) closes the connections too", async () => {
    w = wsWorld();
    const a = await open(w.url, { token: w.a });
    await a.call("health");
    const cli = testCore({ home: w.core.home });
    cli.tenants.suspend(scope("alpha"), operatorCtx);
    cli.close();
    expect(await a.waitClosed()).toEqual({ code: 4001, reason: "tenant suspended" });
  });

  test("deleting the tenant closes its connections (4001)", async () => {
    w = wsWorld();
    const a = await open(w.url, { token: w.a });
    await a.call("health");
    w.core.tenants.remove(scope("alpha"), operatorCtx);
    expect(await a.waitClosed()).toEqual({ code: 4001, reason: "tenant deleted" });
  });
});

/** The status code of the last close frame in a stream of unmasked server frames (0 when none). */
function closeCodeOf(buf: Buffer): number {
  let i = 0;
  let code = 0;
  while (i + 2 <= buf.length) {
    const op = buf[i]! & 0x0f;
    let len = buf[i + 1]! & 0x7f;
    let at = i + 2;
    if (len === 126) {
      len = buf.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      len = Number(buf.readBigUInt64BE(at));
      at += 8;
    }
    if (at + len > buf.length) break;
    if (op === 0x8 && len >= 2) code = buf.readUInt16BE(at);
    i = at + len;
  }
  return code;
}
