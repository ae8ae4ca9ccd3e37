// Protocol v4 on `/`: the handshake frames as upstream's clients see them, and every way a connect
// can fail — schema, protocol, each kind of failed authentication (one identical answer, close 1008).
import { describe, expect, test } from "bun:test";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { rawHandshake } from "../../helpers/ws.ts";
import { cliParams, harness, wsWorld } from "./v4-client.ts";

const h = harness();
const client = () => h.open();

describe("protocol v4: the handshake", () => {
  test("connect.challenge on open, then hello-ok with the methods, events, policy and the granted scopes", async () => {
    const w = h.world(wsWorld());
    const c = await client();
    const ch = await c.challenge();
    expect(ch.nonce).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(ch.ts - Date.now())).toBeLessThan(5000);
    expect(c.messages[0]).toEqual({ type: "event", event: "connect.challenge", payload: ch });
    const hello = await c.connect(cliParams(w.a));
    expect(hello.type).toBe("hello-ok");
    expect(hello.protocol).toBe(4);
    expect(hello.features.methods).toEqual(expect.arrayContaining(["health", "status", "agents.list", "models.list", "usage.cost", "cron.list", "cron.status", "cron.get", "cron.add", "cron.update", "cron.remove", "cron.run", "cron.runs"]));
    expect(hello.features.events).toEqual(["connect.challenge", "tick", "health", "shutdown", "chat", "agent", "sessions.changed", "session.message", "cron"]);
    expect(hello.auth).toEqual({ method: "token", role: "operator", scopes: ["operator.read"] });
    expect(hello.policy).toEqual({ maxPayload: 1_048_576, maxBufferedBytes: 1_048_576, tickIntervalMs: 30_000 });
    expect(hello.snapshot.presence).toEqual([]);
    expect(hello.snapshot.sessionDefaults).toMatchObject({ defaultAgentId: "main", mainKey: "main", mainSessionKey: "agent:main:main" });
    expect(hello.snapshot.health.agents.map((a: any) => a.agentId)).toEqual(["main"]);
    // Nothing about the host: no path, host name, or the gateway's own identity.
    const text = JSON.stringify(hello);
    expect(text).not.toContain(w.core.home);
    expect(text).not.toMatch(/"(host|ip|configPath|stateDir|bootId|buildId|appliedConfigHash)"/);
    expect(hello.snapshot.health.sessions.path).toBe("");
  });

  test("a plain GET / is still no route (404), and an unknown Origin may not upgrade (403)", async () => {
    const w = h.world(wsWorld());
    const res = await fetch(`${w.gw.url}/`);
    expect(res.status).toBe(404);
    const refused = await rawHandshake(w.gw.port, "/", { Origin: "http://evil.example" });
    expect(refused.status).toBe(403);
    const own = await rawHandshake(w.gw.port, "/", { Origin: `http://127.0.0.1:${w.gw.port}` });
    expect(own.status).toBe(101);
    own.socket.destroy();
  });

  test("an Origin the operator lists (the Control UI served from another port) may upgrade", async () => {
    const w = h.world(wsWorld({ websocket: { allowedOrigins: ["http://127.0.0.1:5173"] } }));
    const listed = await rawHandshake(w.gw.port, "/", { Origin: "http://127.0.0.1:5173" });
    expect(listed.status).toBe(101);
    listed.socket.destroy();
    const other = await rawHandshake(w.gw.port, "/", { Origin: "http://127.0.0.1:5174" });
    expect(other.status).toBe(403);
  });
});

describe("protocol v4: refused connects", () => {
  test("unknown client.id and a field the closed schema lacks: upstream's message, close 1008", async () => {
    const w = h.world(wsWorld());
    const c = await client();
    await c.challenge();
    const res = await c.request("connect", cliParams(w.a, { client: { id: "my-bot", version: "1", platform: "linux", mode: "cli" } }));
    expect(res.error).toEqual({ code: "INVALID_REQUEST", message: "invalid connect params: at /client/id: must be equal to one of the allowed values" });
    expect((await c.waitClosed()).code).toBe(1008);
    const d = await client();
    await d.challenge();
    const extra = await d.request("connect", cliParams(w.a, { surprise: 1 }));
    expect(extra.error.message).toContain("must NOT have additional properties");
    expect((await d.waitClosed()).code).toBe(1008);
  });

  test("a protocol other than 4: PROTOCOL_MISMATCH, close 1002", async () => {
    const w = h.world(wsWorld());
    const c = await client();
    await c.challenge();
    const res = await c.request("connect", cliParams(w.a, { minProtocol: 3, maxProtocol: 3 }));
    expect(res.error).toEqual({ code: "INVALID_REQUEST", message: "protocol mismatch", details: { code: "PROTOCOL_MISMATCH", clientMinProtocol: 3, clientMaxProtocol: 3, expectedProtocol: 4, minimumProbeProtocol: 3 } });
    expect((await c.waitClosed()).code).toBe(1002);
  });

  test("a first request other than connect, and a frame that is not a request, end the connection (1008)", async () => {
    const w = h.world(wsWorld());
    const c = await client();
    await c.challenge();
    const res = await c.request("health", {});
    expect(res.error).toEqual({ code: "INVALID_REQUEST", message: "invalid handshake: first request must be connect" });
    expect((await c.waitClosed()).code).toBe(1008);
    const d = await client();
    await d.challenge();
    d.raw.send("not json");
    expect((await d.waitClosed()).code).toBe(1008);
  });

  test("wrong, unknown-tenant, missing, suspended and revoked tokens all get the one identical answer and 1008", async () => {
    const w = h.world(wsWorld());
    const answers: unknown[] = [];
    const tokens: (string | null)[] = [`${w.a.slice(0, -4)}zzzz`, "ocmu_ghost_0123456789abcdefghij", null, "not-a-token"];
    for (const t of tokens) {
      const c = await client();
      await c.challenge();
      const res = await c.request("connect", cliParams(t));
      answers.push(res.error);
      expect((await c.waitClosed()).code).toBe(1008);
    }
    w.core.tenants.suspend(scope("beta"), operatorCtx);
    const s = await client();
    await s.challenge();
    answers.push((await s.request("connect", cliParams(w.b))).error);
    expect((await s.waitClosed()).code).toBe(1008);
    for (const a of answers) expect(a).toEqual(answers[0]);
    expect(answers[0]).toMatchObject({ code: "INVALID_REQUEST", details: { code: "AUTH_TOKEN_MISMATCH" } });
  });

  test("frames sent right after a refused connect are not read: a second connect in the same breath does not get in", async () => {
    const w = h.world(wsWorld());
    const c = await client();
    await c.challenge();
    c.raw.send({ type: "req", id: "bad", method: "connect", params: cliParams("ocmu_alpha_wrongwrongwrongwrongwrong") });
    c.raw.send({ type: "req", id: "good", method: "connect", params: cliParams(w.a) });
    expect((await c.waitClosed()).code).toBe(1008);
    expect(c.messages.filter((m) => m.type === "res").map((m) => m.id)).toEqual(["bad"]);
  });

  test("the right token works after failures; a connection that never sends connect is closed after the timeout", async () => {
    const w = h.world(wsWorld({ openclawProtocol: { handshakeTimeoutMs: 1000 } }));
    const { hello } = await h.connect(w.a);
    expect(hello.type).toBe("hello-ok");
    const idle = await client();
    await idle.challenge();
    const closed = await idle.waitClosed(4000);
    expect(closed).toEqual({ code: 1000, reason: "handshake timeout" });
  });
});

describe("protocol v4: a refusal quoting the client's own key", () => {
  test("a long non-ASCII unknown key still gets the answer and a proper close (reason within 123 bytes)", async () => {
    const w = h.world(wsWorld());
    const c = await client();
    await c.challenge();
    const res = await c.request("connect", cliParams(w.a, { client: { id: "cli", version: "1", platform: "linux", mode: "cli", ["ключ".repeat(40)]: 1 } }));
    expect(res.error.code).toBe("INVALID_REQUEST");
    const closed = await c.waitClosed();
    expect(closed.code).toBe(1008);
    expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123);
  });
});
