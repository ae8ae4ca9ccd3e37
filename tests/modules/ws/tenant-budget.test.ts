// The per-tenant WebSocket budget (red team 14, F6): frames and answer bytes are bounded across all
// of a tenant's connections, on GET /rpc and on protocol v4 (GET /) alike and together, not only per
// connection; the refusal names the limit and says when to retry; another tenant is not affected.
import { describe, expect, test } from "bun:test";
import { Type as T } from "@sinclair/typebox";
import { defineTenantMethod } from "../../../src/edge/rpc.ts";
import { defineModule } from "../../../src/modules/module.ts";
import { trackedRpcClients, wsWorld as rpcWorld } from "../../helpers/ws.ts";
import { harness, v4World } from "../openclaw-protocol/v4-client.ts";

const h = harness();
const openRpc = trackedRpcClients();

/** Per-connection budgets far above what the tests send: only the tenant's budget can refuse. */
const ROOMY = { messagesPerSecond: 1000, messagesBurst: 1000 };
const TENANT_FRAMES = { ...ROOMY, tenantMessagesPerSecond: 1, tenantMessagesBurst: 4 };
/** The smallest byte budget the schema takes: one answer of ~200 KB puts the tenant in debt for seconds. */
const TENANT_BYTES = { ...ROOMY, tenantAnswerBytesPerSecond: 65_536, tenantAnswerBytesBurst: 65_536 };

/** A method answering `n` bytes of text: an answer as large as a long history. */
const bigModule = defineModule({ name: "big", create: () => ({}) }).with({
  rpc: () => [
    defineTenantMethod({
      name: "test.big",
      summary: "answers n bytes",
      params: { n: T.Integer({ minimum: 0 }) },
      result: T.String(),
      mutates: false,
      example: { n: 1 },
      handler: (_ctx, p) => "x".repeat(p.n),
    }),
  ],
});

const MODELS = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`model-with-a-rather-long-name-number-${i}`, { provider: "p", upstreamModel: "m", free: true }]));
const WITH_MODELS = { providers: { p: { kind: "openai", baseUrl: "http://127.0.0.1:9/v1" } }, models: MODELS };

describe("WebSocket budget per tenant: GET /rpc", () => {
  test("frames of many connections of one tenant are refused together past the tenant's budget (RATE_LIMITED, retry); another tenant is unaffected", async () => {
    const w = h.world(rpcWorld({ websocket: TENANT_FRAMES }));
    const conns = [await openRpc(w.url, w.a), await openRpc(w.url, w.a), await openRpc(w.url, w.a)];
    for (const c of conns) for (let i = 1; i <= 3; i++) c.send({ jsonrpc: "2.0", id: i, method: "health" });
    const answers = (await Promise.all(conns.map((c) => Promise.all([1, 2, 3].map((id) => c.next((m) => m.id === id)))))).flat();
    const ok = answers.filter((m) => m.result);
    const refused = answers.filter((m) => m.error);
    expect(ok.length).toBeGreaterThanOrEqual(4);
    expect(ok.length).toBeLessThanOrEqual(5); // 4 at once, at most one refilled while the test runs
    for (const r of refused) {
      expect(r.error.data.code).toBe("RATE_LIMITED");
      expect(r.error.message).toContain("gateway.websocket.tenantMessagesPerSecond");
      expect(r.error.data.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
    const b = await openRpc(w.url, w.b);
    expect((await b.call("health")).result.tenantId).toBe("beta");
  });

  test("answer bytes of one tenant's connections together are bounded: past the budget the next frame is refused, not run", async () => {
    const w = h.world(rpcWorld({ websocket: TENANT_BYTES }, [bigModule]));
    const c1 = await openRpc(w.url, w.a);
    const c2 = await openRpc(w.url, w.a);
    expect((await c1.call("test.big", { n: 200_000 })).result.length).toBe(200_000);
    const refused = await c2.call("test.big", { n: 200_000 });
    expect(refused.error.data.code).toBe("RATE_LIMITED");
    expect(refused.error.message).toContain("gateway.websocket.tenantAnswerBytesPerSecond");
    expect(refused.error.data.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    const b = await openRpc(w.url, w.b);
    expect((await b.call("test.big", { n: 200_000 })).result.length).toBe(200_000);
  });
});

describe("WebSocket budget per tenant: protocol v4 (GET /)", () => {
  test("requests of many connections of one tenant are refused together past the tenant's budget (UNAVAILABLE, retryable, retryAfterMs); another tenant is unaffected", async () => {
    const w = h.world(v4World({ websocket: TENANT_FRAMES }, {}));
    // The handshake is not a request: three connections, then nine requests.
    const conns = [(await h.connect(w.a)).c, (await h.connect(w.a)).c, (await h.connect(w.a)).c];
    const answers = await Promise.all(conns.flatMap((c) => [1, 2, 3].map(() => c.request("health", {}))));
    const ok = answers.filter((r) => r.ok);
    expect(ok.length).toBeGreaterThanOrEqual(4);
    expect(ok.length).toBeLessThanOrEqual(5);
    for (const r of answers.filter((a) => !a.ok)) {
      expect(r.error).toMatchObject({ code: "UNAVAILABLE", retryable: true, details: { code: "RATE_LIMITED", limit: "gateway.websocket.tenantMessagesPerSecond" } });
      expect(r.error.retryAfterMs).toBeGreaterThanOrEqual(1000);
    }
    const { c: beta } = await h.connect(w.b);
    expect((await beta.request("health", {})).ok).toBe(true);
  });

  test("answer bytes are bounded per tenant: a large answer puts the tenant in debt, its other connection is refused; another tenant is unaffected", async () => {
    const w = h.world(v4World({ websocket: TENANT_BYTES }, WITH_MODELS));
    const { c: c1 } = await h.connect(w.a);
    const { c: c2 } = await h.connect(w.a);
    const first = await c1.request("models.list", {});
    expect(first.ok).toBe(true);
    expect(JSON.stringify(first).length).toBeGreaterThan(130_000);
    const refused = await c2.request("models.list", {});
    expect(refused.error).toMatchObject({ code: "UNAVAILABLE", retryable: true, details: { limit: "gateway.websocket.tenantAnswerBytesPerSecond" } });
    expect(refused.error.retryAfterMs).toBeGreaterThanOrEqual(1000);
    const { c: beta } = await h.connect(w.b);
    expect((await beta.request("models.list", {})).ok).toBe(true);
  });
});

describe("WebSocket budget per tenant: one budget across both surfaces", () => {
  test("frames on GET /rpc use up the budget that protocol v4 connections of the same tenant draw on", async () => {
    const w = h.world(v4World({ websocket: TENANT_FRAMES }, {}));
    const rpc = await openRpc(`${w.gw.url.replace("http", "ws")}/rpc`, w.a);
    const { c: v4 } = await h.connect(w.a);
    const viaRpc = await Promise.all([1, 2, 3, 4].map(() => rpc.call("health")));
    expect(viaRpc.every((m) => m.result)).toBe(true);
    const viaV4 = await v4.request("health", {});
    expect(viaV4.error).toMatchObject({ code: "UNAVAILABLE", details: { limit: "gateway.websocket.tenantMessagesPerSecond" } });
  });
});
