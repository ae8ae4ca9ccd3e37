// JSON-RPC 2.0 over POST /rpc, as the spec says: single calls, batches, notifications, and the
// parse error / invalid request / method not found / invalid params codes. Plus the OpenRPC document.
import { describe, expect, test } from "bun:test";
import { createTenant, testApp, testCore, scope } from "../helpers/core.ts";

function setup() {
  const core = testCore();
  const token = createTenant(core, "acme");
  const h = testApp(core);
  const send = (raw: string) => h.call("POST", "/rpc", { token, rawBody: raw, headers: { "content-type": "application/json" } });
  return { core, token, ...h, send };
}

describe("JSON-RPC 2.0", () => {
  test("a call returns its id and result", async () => {
    const { core, send } = setup();
    const r = await send('{"jsonrpc":"2.0","id":"abc","method":"health"}');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ jsonrpc: "2.0", id: "abc", result: { status: "ok", tenantId: "acme" } });
    core.close();
  });

  test.each([
    ["parse error", '{"jsonrpc":"2.0","method":"health",', -32700, null],
    ["not an object", "42", -32600, null],
    ["wrong version", '{"jsonrpc":"1.0","id":1,"method":"health"}', -32600, 1],
    ["missing method", '{"jsonrpc":"2.0","id":1}', -32600, 1],
    ["method not a string", '{"jsonrpc":"2.0","id":1,"method":7}', -32600, 1],
    ["bad id type", '{"jsonrpc":"2.0","id":{"x":1},"method":"health"}', -32600, null],
    ["params not structured", '{"jsonrpc":"2.0","id":1,"method":"health","params":"x"}', -32600, 1],
    ["empty batch", "[]", -32600, null],
    ["unknown method", '{"jsonrpc":"2.0","id":2,"method":"tenants.delete"}', -32601, 2],
    ["positional params", '{"jsonrpc":"2.0","id":3,"method":"tenants.get","params":["acme"]}', -32602, 3],
    ["unknown param", '{"jsonrpc":"2.0","id":4,"method":"tenants.get","params":{"tenant":"acme"}}', -32602, 4],
    ["wrong param type", '{"jsonrpc":"2.0","id":5,"method":"tenants.rotate","params":{"grace":5}}', -32602, 5],
  ])("%s → %i", async (_name, raw, code, id) => {
    const { core, send } = setup();
    const r = await send(raw);
    expect(r.status).toBe(200);
    expect(r.json.jsonrpc).toBe("2.0");
    expect(r.json.id).toBe(id as never);
    expect(r.json.error.code).toBe(code);
    expect(r.json.error.message).toBeString();
    core.close();
  });

  test("batch: responses for calls, none for notifications, errors in place", async () => {
    const { core, send } = setup();
    const r = await send(
      JSON.stringify([
        { jsonrpc: "2.0", id: 1, method: "health" },
        { jsonrpc: "2.0", method: "health" },
        { jsonrpc: "2.0", id: 2, method: "nope" },
        1,
        { jsonrpc: "2.0", id: 3, method: "tenants.quota.status" },
      ]),
    );
    expect(r.json.map((x: { id: unknown }) => x.id)).toEqual([1, 2, null, 3]);
    expect(r.json[1].error.code).toBe(-32601);
    expect(r.json[2].error.code).toBe(-32600);
    expect(r.json[3].result.tenantId).toBe("acme");
    core.close();
  });

  test("only notifications: 204 and no body; a notification still runs", async () => {
    const { core, send } = setup();
    const r = await send(JSON.stringify([{ jsonrpc: "2.0", method: "config.patch", params: { patch: { agent: { maxTokens: 100 } } } }]));
    expect(r.status).toBe(204);
    expect(r.text).toBe("");
    expect(core.audit.query({ action: "tenant.config.patch" })).toHaveLength(1);
    core.close();
  });

  test("a method that returns a one-time secret is refused as a notification, alone or in a batch, and not run", async () => {
    const { core, token, send } = setup();
    const alone = await send('{"jsonrpc":"2.0","method":"tenants.rotate","params":{"grace":"1h"}}');
    expect(alone.status).toBe(200);
    expect(alone.json).toMatchObject({ id: null, error: { code: -32600, data: { code: "BAD_REQUEST", method: "tenants.rotate" } } });
    expect(alone.json.error.message).toContain('must be called with an "id"');
    const batch = await send(JSON.stringify([{ jsonrpc: "2.0", method: "tenants.rotate" }, { jsonrpc: "2.0", id: 7, method: "health" }]));
    expect(batch.json).toHaveLength(2);
    expect(batch.json[0]).toMatchObject({ id: null, error: { code: -32600 } });
    expect(batch.json[1]).toMatchObject({ id: 7, result: { status: "ok" } });
    // Nothing rotated: the token still works, and no rotation was recorded.
    expect(core.tokens.verify(token).ok).toBe(true);
    expect(core.tenants.get(scope("acme")).token.inGrace).toHaveLength(0);
    expect(core.audit.query({ action: "tenant.token.rotate" })).toHaveLength(0);
    // With an id (null included) it runs and the token comes back.
    const called = await send('{"jsonrpc":"2.0","id":null,"method":"tenants.rotate"}');
    expect(called.json.result.token).toMatch(/^ocmu_acme_/);
    core.close();
  });

  test("every method whose result holds a token string declares returnsSecret", () => {
    const { core, registry } = setup();
    type S = { type?: string; properties?: Record<string, S>; anyOf?: S[]; allOf?: S[] };
    const secretString = (s: S): boolean =>
      Object.entries(s.properties ?? {}).some(([k, v]) => (/token|secret|key$/i.test(k) && v.type === "string") || secretString(v)) || [...(s.anyOf ?? []), ...(s.allOf ?? [])].some(secretString);
    const flagged = registry.list().filter((m) => secretString(m.result as S)).map((m) => m.name);
    expect(flagged).toContain("tenants.rotate");
    for (const name of flagged) expect({ name, returnsSecret: registry.get(name)!.returnsSecret }).toEqual({ name, returnsSecret: true });
    expect(registry.openrpc("test").methods).toContainEqual(expect.objectContaining({ name: "tenants.rotate", "x-shown-once": true }));
    core.close();
  });

  test("oversized batches are refused", async () => {
    const { core, send } = setup();
    const r = await send(JSON.stringify(Array.from({ length: 101 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "health" }))));
    expect(r.json.error.code).toBe(-32600);
    core.close();
  });

  test("application errors carry the gateway's code in data.code", async () => {
    const { core, send } = setup();
    const r = await send('{"jsonrpc":"2.0","id":1,"method":"tenants.rotate","params":{"grace":"soon"}}');
    expect(r.json.error).toMatchObject({ code: -32602, data: { code: "INVALID_PARAMS" } });
    expect(r.json.error.message).toContain("not a duration");
    core.close();
  });

  test("tenants.rotate returns the new token once; the old one is dead for the next call", async () => {
    const { core, token, rpc } = setup();
    const r = await rpc(token, "tenants.rotate");
    expect(r.result.token).toMatch(/^ocmu_acme_/);
    expect((await rpc(token, "health")).status).toBe(401);
    expect((await rpc(r.result.token, "health")).status).toBe(200);
    core.close();
  });

  test("config methods read and write only the caller's overlay", async () => {
    const { core, token, rpc } = setup();
    expect((await rpc(token, "config.get")).result).toEqual({ file: "tenants/acme/openclaw.json", config: {} });
    expect((await rpc(token, "config.set", { config: { agent: { maxTokens: 99 } } })).result.config).toEqual({ agent: { maxTokens: 99 } });
    expect((await rpc(token, "config.patch", { patch: { agent: { systemPrompt: "hi" } } })).result.config).toEqual({ agent: { maxTokens: 99, systemPrompt: "hi" } });
    const schema = (await rpc(token, "config.schema")).result;
    expect(Object.keys(schema.properties)).toEqual(["$schema", "models", "agent", "agents", "tools", "sandbox", "plugins", "mcpServers"]);
    expect(core.audit.query({ tenant: "acme", action: "tenant.config.patch" })[0]!.actor.kind).toBe("tenant");
    core.close();
  });

  test("OpenRPC: rpc.discover and GET /rpc/openrpc.json list every method with its params", async () => {
    const { core, token, rpc, call, registry } = setup();
    const viaMethod = (await rpc(token, "rpc.discover")).result;
    const viaHttp = (await call("GET", "/rpc/openrpc.json")).json;
    expect(viaHttp).toEqual(viaMethod);
    expect(viaMethod.openrpc).toBe("1.3.2");
    expect(viaMethod.methods.map((m: { name: string }) => m.name).sort()).toEqual(registry.list().map((m) => m.name).sort());
    for (const name of ["health", "tenants.get", "tenants.rotate", "tenants.quota.status", "config.get", "config.set", "config.patch", "config.schema", "rpc.discover"]) {
      expect(viaMethod.methods.some((m: { name: string }) => m.name === name)).toBe(true);
    }
    const rotate = viaMethod.methods.find((m: { name: string }) => m.name === "tenants.rotate");
    expect(rotate.params.map((p: { name: string }) => p.name)).toEqual(["tenantId", "grace"]);
    core.close();
  });
});

describe("denied attempts are throttled", () => {
  test("a batch of cross-tenant calls cannot flood the audit log", async () => {
    const core = testCore({ config: { gateway: { authThrottle: { perIpTenantMaxFailures: 5 } } } });
    const token = createTenant(core, "acme");
    createTenant(core, "beta");
    const { call } = testApp(core);
    const seq = core.audit.head().seq;
    const batch = Array.from({ length: 100 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "tenants.get", params: { tenantId: "beta" } }));
    const r = await call("POST", "/rpc", { token, body: batch });
    const codes = r.json.map((x: { error: { data: { code: string } } }) => x.error.data.code);
    expect(codes.slice(0, 5)).toEqual(Array(5).fill("NOT_FOUND"));
    expect(codes.slice(5).every((c: string) => c === "RATE_LIMITED")).toBe(true);
    const written = core.audit.query({ limit: 1000 }).filter((x) => x.seq > seq);
    expect(written.filter((x) => x.action === "tenants.get" && x.outcome === "denied")).toHaveLength(5);
    expect(written.filter((x) => x.action === "auth.throttle")).toHaveLength(1);
    // Other clients of the same tenant are unaffected.
    expect((await call("POST", "/rpc", { token, ip: "198.51.100.1", body: { jsonrpc: "2.0", id: 1, method: "tenants.get" } })).json.result.tenantId).toBe("acme");
    core.close();
  });
});
