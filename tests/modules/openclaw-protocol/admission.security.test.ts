// Protocol v4 takes the same admission as JSON-RPC (modules/admission): one bucket of audited changes per
// tenant with the configured limits, the disk reserve before a change, and the tenant's requests-in-
// progress places — shared with POST /rpc and GET /rpc, so using two surfaces never doubles a budget.
// (Before: v4 kept a bucket of its own with hard-coded limits, and took neither the reserve nor the places.)
import { afterEach, describe, expect, test } from "bun:test";
import { Type as T } from "@sinclair/typebox";
import { defineTenantMethod } from "../../../src/edge/rpc.ts";
import { startGateway } from "../../../src/http/gateway.ts";
import { defineModule } from "../../../src/modules/module.ts";
import { startFakeProvider, type FakeProvider } from "../../fake-provider/fake-provider.ts";
import { createTenant, scope, testCore } from "../../helpers/core.ts";
import type { WsWorld } from "../../helpers/ws.ts";
import { harness } from "./v4-client.ts";

const h = harness();
let fake: FakeProvider | null = null;
afterEach(() => {
  fake?.stop();
  fake = null;
});

/** A method that waits until the test lets it go: to hold one of the tenant's places over RPC. */
let letGo: (() => void) | null = null;
const holdModule = defineModule({ name: "hold", create: () => ({}) }).with({
  rpc: () => [
    defineTenantMethod({ name: "test.hold", summary: "waits until the test lets it go", params: {}, result: T.Null(), mutates: false, example: {}, handler: () => new Promise<null>((resolve) => (letGo = () => resolve(null))) }),
  ],
});

/** A gateway (tenants alpha, beta) whose model `m` is the fake provider's. */
function world(gateway: Record<string, unknown>): WsWorld {
  fake = startFakeProvider();
  const config = { gateway: { port: 0, accessLog: false, ...gateway }, providers: { p: { kind: "openai", baseUrl: `${fake.url}/v1`, timeoutMs: 10_000 } }, models: { m: { provider: "p", upstreamModel: "m", free: true } } };
  const core = testCore({ config, extraModules: [holdModule] });
  const a = createTenant(core, "alpha");
  const b = createTenant(core, "beta");
  const gw = startGateway(core);
  return h.world({ core, a, b, gw, url: `${gw.url.replace("http", "ws")}/`, close: () => gw.stop() });
}

const write = { scopes: ["operator.read", "operator.write"] };

async function rpc(w: WsWorld, token: string, method: string, params: unknown = {}) {
  const r = await fetch(`${w.gw.url}/rpc`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  return { status: r.status, body: (await r.json()) as any };
}

describe("protocol v4 and JSON-RPC: one admission", () => {
  test("audited changes over /rpc and over v4 draw from one bucket with the configured limits", async () => {
    const w = world({ limits: { tenantChangesPerMinute: 1, tenantChangesBurst: 2 } });
    const { c } = await h.connect(w.a, write);
    // A send that creates its session is an audited change: one over RPC, one over v4 — the burst of 2.
    expect((await rpc(w, w.a, "chat.send", { sessionKey: "r1", message: "one" })).body.result.runId).toBeString();
    expect((await c.request("chat.send", { sessionKey: "v1", message: "two", idempotencyKey: "k2" })).ok).toBe(true);
    const v4 = await c.request("chat.send", { sessionKey: "v2", message: "three", idempotencyKey: "k3" });
    expect(v4.error).toMatchObject({ code: "UNAVAILABLE", retryable: true, details: { code: "RATE_LIMITED", method: "chat.send" } });
    expect(v4.error.message).toContain("gateway.limits.tenantChangesPerMinute");
    expect(v4.error.retryAfterMs).toBeGreaterThan(0);
    const overRpc = await rpc(w, w.a, "chat.send", { sessionKey: "r2", message: "four" });
    expect(overRpc.body.error.data.code).toBe("RATE_LIMITED");
    expect((await c.request("sessions.delete", { key: "r1" })).error.details.code).toBe("RATE_LIMITED");
    // Nothing was made for the refused ones; the other tenant's bucket is its own.
    expect(w.core.sessions.list(scope("alpha")).sessions.map((s) => s.key).sort()).toEqual(["r1", "v1"]);
    const other = await h.connect(w.b, write);
    expect((await other.c.request("chat.send", { sessionKey: "v1", message: "b", idempotencyKey: "kb" })).ok).toBe(true);
  });

  test("under the disk reserve a v4 change is refused, as over RPC; reads still answer", async () => {
    const w = world({ diskReserveMb: 100_000_000 });
    const { c } = await h.connect(w.a, write);
    for (const [method, params] of [
      ["chat.send", { sessionKey: "s1", message: "hi", idempotencyKey: "k1" }],
      ["agent", { message: "hi", idempotencyKey: "k2" }],
      ["sessions.reset", { key: "s1" }],
      ["sessions.delete", { key: "s1" }],
      ["chat.abort", { sessionKey: "s1" }],
    ] as const) {
      const res = await c.request(method, params);
      expect({ method, error: res.error }).toMatchObject({ method, error: { code: "UNAVAILABLE", retryable: true, details: { code: "UNAVAILABLE" } } });
      expect(res.error.message).toContain("short of disk space");
    }
    expect((await rpc(w, w.a, "chat.send", { sessionKey: "s1", message: "hi" })).body.error.data.code).toBe("UNAVAILABLE");
    expect(w.core.sessions.list(scope("alpha")).sessions).toEqual([]);
    expect((await c.request("sessions.list", {})).ok).toBe(true);
  });

  test("the tenant's requests-in-progress places cover v4: a place held over RPC refuses a v4 request, and one held over v4 an RPC request", async () => {
    const w = world({ limits: { rpcConcurrentPerTenant: 1 } });
    const { c } = await h.connect(w.a, write);
    letGo = null;
    const held = rpc(w, w.a, "test.hold");
    for (let i = 0; i < 200 && !letGo; i++) await Bun.sleep(10);
    expect(letGo).not.toBeNull();
    const refused = await c.request("health", {});
    expect(refused.error).toMatchObject({ code: "UNAVAILABLE", retryable: true, retryAfterMs: 1000, details: { code: "RATE_LIMITED", limit: 1 } });
    expect(refused.error.message).toContain("gateway.limits.rpcConcurrentPerTenant");
    // Another tenant's places are its own.
    expect((await (await h.connect(w.b)).c.request("health", {})).ok).toBe(true);
    letGo!();
    expect((await held).body.result).toBeNull();
    expect((await c.request("health", {})).ok).toBe(true);

    // A two-stage `agent` holds its place until its final answer: RPC is refused meanwhile.
    const id = "agent-1";
    c.raw.send({ type: "req", id, method: "agent", params: { message: "wait [[hang]]", idempotencyKey: "k-hang" } });
    await c.raw.next((m) => m.type === "res" && m.id === id, "agent accepted");
    const busy = await rpc(w, w.a, "health");
    expect(busy.status).toBe(429);
    expect(busy.body.error.data.code).toBe("RATE_LIMITED");
    expect((await rpc(w, w.b, "health")).status).toBe(200);
    expect((await c.request("chat.abort", { sessionKey: "agent:main:main" })).error.details.code).toBe("RATE_LIMITED");
    expect(w.core.admission.inProgress("alpha")).toBe(1);
  });
});
