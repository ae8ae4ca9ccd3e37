// The per-tenant budget of RPC work, re-attacked (REDTEAM-RECHECK): what is charged is what was made
// and received, not what was sent; POST /rpc draws on the same budget as the WebSockets; binary,
// large and refused frames cost what they are; a connection that ignores its refusals is closed.
// Each test failed on the code before the fix (see REDTEAM-RECHECK.md).
import { describe, expect, test } from "bun:test";
import { Type as T } from "@sinclair/typebox";
import { defineTenantMethod } from "../../../src/edge/rpc.ts";
import { defineModule } from "../../../src/modules/module.ts";
import { trackedRpcClients, wsWorld as rpcWorld } from "../../helpers/ws.ts";
import { harness, v4World } from "../openclaw-protocol/v4-client.ts";

const h = harness();
const openRpc = trackedRpcClients();

const ROOMY = { messagesPerSecond: 1000, messagesBurst: 1000 };
/** The smallest byte budget the schema takes: 64 KiB at once, 64 KiB a second. */
const TENANT_BYTES = { ...ROOMY, tenantAnswerBytesPerSecond: 65_536, tenantAnswerBytesBurst: 65_536 };
/** A connection allowed 2 frames at once and 1 a second: its refusals come quickly. */
const TIGHT = { messagesPerSecond: 1, messagesBurst: 2 };

let made = 0;
/** A method answering `n` bytes of text (an answer as large as a long history or a file read). */
const bigModule = defineModule({ name: "big", create: () => ({}) }).with({
  rpc: () => [
    defineTenantMethod({
      name: "test.big",
      summary: "answers n bytes",
      params: { n: T.Integer({ minimum: 0 }) },
      result: T.String(),
      mutates: false,
      example: { n: 1 },
      handler: (_ctx, p) => {
        made++;
        return "x".repeat(p.n);
      },
    }),
  ],
});

const post = (url: string, token: string, body: unknown) =>
  fetch(url.replace("ws", "http"), { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });

describe("RPC budget: what is charged is what was made (GET /rpc)", () => {
  test("a result too large to send is charged its size: the tenant's next frame is refused, not run", async () => {
    // maxBufferedBytes 65,536: a 200 KB result is made, then refused as PAYLOAD_TOO_LARGE.
    const w = h.world(rpcWorld({ websocket: { ...TENANT_BYTES, maxBufferedBytes: 65_536 } }, [bigModule]));
    const c1 = await openRpc(w.url, w.a);
    const c2 = await openRpc(w.url, w.a);
    const tooLarge = await c1.call("test.big", { n: 200_000 });
    expect(tooLarge.error.data.code).toBe("PAYLOAD_TOO_LARGE");
    made = 0;
    const next = await c2.call("test.big", { n: 10 });
    expect(next.error?.data.code).toBe("RATE_LIMITED");
    expect(next.error.message).toContain("gateway.websocket.tenantAnswerBytesPerSecond");
    expect(made).toBe(0);
    // Another tenant is not charged for it.
    const b = await openRpc(w.url, w.b);
    expect((await b.call("test.big", { n: 10 })).result).toBe("x".repeat(10));
  });

  test("a batch item dropped past the response limit is charged its size", async () => {
    const w = h.world(rpcWorld({ websocket: { ...TENANT_BYTES, maxBufferedBytes: 65_536 } }, [bigModule]));
    const c = await openRpc(w.url, w.a);
    c.send([
      { jsonrpc: "2.0", id: 1, method: "test.big", params: { n: 40_000 } },
      { jsonrpc: "2.0", id: 2, method: "test.big", params: { n: 40_000 } },
    ]);
    const batch = await c.next((m) => Array.isArray(m), "the batch");
    expect(batch[1].error.data.code).toBe("PAYLOAD_TOO_LARGE");
    const next = await c.call("test.big", { n: 10 });
    expect(next.error?.data.code).toBe("RATE_LIMITED");
  });

  test("a notification's result is charged too", async () => {
    const w = h.world(rpcWorld({ websocket: TENANT_BYTES }, [bigModule]));
    const c = await openRpc(w.url, w.a);
    c.send({ jsonrpc: "2.0", method: "test.big", params: { n: 200_000 } }); // no id: nothing is sent back
    await Bun.sleep(100);
    const next = await c.call("test.big", { n: 10 });
    expect(next.error?.data.code).toBe("RATE_LIMITED");
  });
});

describe("RPC budget: POST /rpc draws on the tenant's budget", () => {
  test("answers to POST /rpc put the tenant in debt: its next POST is 429 naming the limit, its WebSocket frames are refused; another tenant is served", async () => {
    const w = h.world(rpcWorld({ websocket: TENANT_BYTES }, [bigModule]));
    const first = await post(w.url, w.a, { jsonrpc: "2.0", id: 1, method: "test.big", params: { n: 200_000 } });
    expect(first.status).toBe(200);
    expect(((await first.json()) as any).result.length).toBe(200_000);
    made = 0;
    const second = await post(w.url, w.a, { jsonrpc: "2.0", id: 2, method: "test.big", params: { n: 10 } });
    expect(second.status).toBe(429);
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(await second.json())).toContain("gateway.websocket.tenantAnswerBytesPerSecond");
    const ws = await openRpc(w.url, w.a);
    expect((await ws.call("test.big", { n: 10 })).error?.data.code).toBe("RATE_LIMITED");
    expect(made).toBe(0);
    const other = await post(w.url, w.b, { jsonrpc: "2.0", id: 3, method: "test.big", params: { n: 200_000 } });
    expect(other.status).toBe(200);
  });
});

describe("RPC budget: frames cost what they are (GET /rpc)", () => {
  test("binary frames take from the budget like any other frame", async () => {
    const w = h.world(rpcWorld({ websocket: { ...ROOMY, tenantMessagesPerSecond: 1, tenantMessagesBurst: 4 } }));
    const c = await openRpc(w.url, w.a);
    for (let i = 0; i < 4; i++) c.ws.send(new Uint8Array([1, 2, 3]));
    const call = await c.call("health");
    expect(call.error?.data.code).toBe("RATE_LIMITED");
    expect(call.error.message).toContain("gateway.websocket.tenantMessagesPerSecond");
  });

  test("a large frame is charged its size: 200 KB of request puts the tenant in debt", async () => {
    const w = h.world(rpcWorld({ websocket: TENANT_BYTES }, [bigModule]));
    const c = await openRpc(w.url, w.a);
    const big = await c.call("test.big", { n: 1, pad: "y".repeat(200_000) });
    expect(big.error.data.code).toBe("INVALID_PARAMS");
    const next = await c.call("test.big", { n: 1 });
    expect(next.error?.data.code).toBe("RATE_LIMITED");
  });

  test("a large refused frame is not parsed (refused with id null); a connection that keeps sending after its refusals is closed 1008", async () => {
    const w = h.world(rpcWorld({ websocket: TIGHT }));
    const c = await openRpc(w.url, w.a);
    c.send({ jsonrpc: "2.0", id: 1, method: "health" });
    c.send({ jsonrpc: "2.0", id: 2, method: "health" });
    c.send({ jsonrpc: "2.0", id: 3, method: "health", params: { pad: "y".repeat(20_000) } }); // over 16 KiB, weighing 2 refusals
    const refused = await c.next((m) => m.error?.data?.code === "RATE_LIMITED", "the refusal");
    expect(refused.id).toBeNull();
    for (let i = 0; i < 10; i++) c.send({ jsonrpc: "2.0", id: 10 + i, method: "health" });
    const closed = await c.waitClosed();
    expect(closed.code).toBe(1008);
    expect(closed.reason).toContain("refused");
    // Another connection of the tenant is not closed for it.
    const d = await openRpc(w.url, w.a);
    await Bun.sleep(1100);
    expect((await d.call("health")).result.tenantId).toBe("alpha");
  });
});

describe("RPC budget: protocol v4 (GET /)", () => {
  test("a large frame is charged its size; a connection that keeps sending after its refusals is closed 1008", async () => {
    const w = h.world(v4World({ websocket: TENANT_BYTES }, {}));
    const { c } = await h.connect(w.a);
    const big = await c.request("health", { pad: "y".repeat(200_000) });
    expect(big.type).toBe("res"); // answered (run or refused for its params): it was looked at
    const next = await c.request("health", {});
    expect(next.error).toMatchObject({ code: "UNAVAILABLE", details: { limit: "gateway.websocket.tenantAnswerBytesPerSecond" } });
    for (let i = 0; i < 1100; i++) c.raw.send({ type: "req", id: `x${i}`, method: "health" });
    const closed = await c.waitClosed();
    expect(closed.code).toBe(1008);
  });
});

describe("RPC budget: refusals are counted for the operator", () => {
  test("budget refusals and refused places show in openclaw_quota_refusals_total by the limit that refused them", async () => {
    const w = h.world(rpcWorld({ websocket: { ...ROOMY, tenantMessagesPerSecond: 1, tenantMessagesBurst: 1 } }));
    const c = await openRpc(w.url, w.a);
    await c.call("health");
    expect((await c.call("health")).error.data.code).toBe("RATE_LIMITED");
    const text = w.core.metrics.render({ version: "t", tenants: 2 });
    expect(text).toContain('openclaw_quota_refusals_total{limit="gateway.websocket.tenantMessagesPerSecond"} 1');
    // The tenant's places (gateway.limits.rpcConcurrentPerTenant, 4 by default): the fifth is refused and counted.
    const releases = [1, 2, 3, 4].map(() => w.core.admission.admit("alpha"));
    expect(() => w.core.admission.admit("alpha")).toThrow("rpcConcurrentPerTenant");
    for (const r of releases) r();
    expect(w.core.metrics.render({ version: "t", tenants: 2 })).toContain('openclaw_quota_refusals_total{limit="gateway.limits.rpcConcurrentPerTenant"} 1');
  });
});

describe("RPC budget: refusals are weighed by size", () => {
  test("a connection that keeps sending large frames after being refused is closed as soon as one that sends many small ones", async () => {
    // Frames roomy, bytes tight: 64 KiB puts the tenant in debt; then every frame is refused by the
    // byte budget. Each refused 200 KB frame weighs 13 refusals: 12 of them pass the burst of 100.
    const w = h.world(rpcWorld({ websocket: { ...TENANT_BYTES, messagesPerSecond: 1000, messagesBurst: 100 } }));
    const c = await openRpc(w.url, w.a);
    const pad = "y".repeat(200_000);
    for (let i = 0; i < 12; i++) c.send({ jsonrpc: "2.0", id: i, method: "health", params: { pad } });
    const closed = await c.waitClosed(3000);
    expect(closed.code).toBe(1008);
  });
});
