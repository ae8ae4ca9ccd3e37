// Reserved key names (__proto__, constructor, prototype) in anything a caller sends that is merged or
// assigned: refused with their key path, nothing written, no "ok" audit record.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import { mergePatch } from "../../../src/modules/overlays/overlays.service.ts";
import { adminKey, createTenant, testApp, testCore, scope } from "../../helpers/core.ts";

const rpcRaw = (method: string, params: string) => `{"jsonrpc":"2.0","id":1,"method":"${method}","params":${params}}`;

describe("reserved key names", () => {
  test.each([
    ["config.patch", '{"patch":{"__proto__":{"agent":{"maxTokens":5}}}}', "params.patch.__proto__"],
    ["config.patch", '{"patch":{"__proto__":{"providers":{"x":{"apiKey":"sk-1"}}}}}', "params.patch.__proto__"],
    ["config.patch", '{"patch":{"agent":{"constructor":{"prototype":{"maxTokens":1}}}}}', "params.patch.agent.constructor"],
    ["config.set", '{"config":{"agent":{"maxTokens":5},"__proto__":{"sandbox":{"limits":{"memoryMb":99999}}}}}', "params.config.__proto__"],
    ["config.set", '{"config":{"tools":{"egress":{"prototype":["a.example.com:443"]}}}}', "params.config.tools.egress.prototype"],
  ])("%s %s is refused, naming %s", async (method, params, where) => {
    const core = testCore();
    const token = createTenant(core, "acme");
    const { call } = testApp(core);
    core.overlays.set(scope("acme"), { agent: { maxTokens: 100 } }, { actor: { kind: "operator", id: "t" }, requestId: "req_t" });
    const before = fs.readFileSync(core.overlays.path(scope("acme")), "utf8");
    const seq = core.audit.head().seq;
    const r = await call("POST", "/rpc", { token, rawBody: rpcRaw(method, params), headers: { "content-type": "application/json" } });
    expect(r.json.error).toMatchObject({ code: -32602, data: { code: "INVALID_PARAMS" } });
    expect(r.json.error.message).toContain(`${where} is a reserved name`);
    expect(fs.readFileSync(core.overlays.path(scope("acme")), "utf8")).toBe(before);
    expect(core.audit.head().seq).toBe(seq); // nothing recorded as ok
    expect(core.overlays.load(scope("acme"))).toEqual({ agent: { maxTokens: 100 } });
    core.close();
  });

  test("the overlay service refuses them too, whoever calls it (config.set, config.patch)", () => {
    const core = testCore();
    createTenant(core, "acme");
    const ctx = { actor: { kind: "operator" as const, id: "t" }, requestId: "req_t" };
    const patch = JSON.parse('{"__proto__":{"agent":{"maxTokens":5}}}');
    expect(() => core.overlays.patch(scope("acme"), patch, ctx)).toThrow('tenants/acme/openclaw.json: "__proto__" is a reserved name');
    expect(() => core.overlays.set(scope("acme"), JSON.parse('{"agent":{"constructor":1}}'), ctx)).toThrow('"agent.constructor" is a reserved name');
    expect(fs.existsSync(core.overlays.path(scope("acme")))).toBe(false);
    core.close();
  });

  test("an overlay file on disk with __proto__ fails at load, naming the line and key path", () => {
    const core = testCore();
    createTenant(core, "acme");
    fs.writeFileSync(core.overlays.path(scope("acme")), '{\n  "agent": { "maxTokens": 10 },\n  "__proto__": { "sandbox": { "limits": { "memoryMb": 99999 } } }\n}\n');
    expect(() => core.overlays.load(scope("acme"))).toThrow('tenants/acme/openclaw.json:3:3: "__proto__" is a reserved name');
    core.close();
  });

  test("control-plane bodies with a reserved key are refused", async () => {
    const core = testCore();
    const key = adminKey(core);
    const { call } = testApp(core);
    const r = await call("POST", "/admin/v1/tenants", { token: key, rawBody: '{"id":"acme","__proto__":{"displayName":"x"}}', headers: { "content-type": "application/json" } });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain('"__proto__" is a reserved name');
    expect(core.tenants.exists("acme")).toBe(false);
    core.close();
  });

  test("merge patches build objects without a prototype", () => {
    const merged = mergePatch({ a: { b: 1 } }, JSON.parse('{"a":{"c":2},"__proto__":{"polluted":true}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(merged)).toBeNull();
    expect(Object.keys(merged).sort()).toEqual(["__proto__", "a"]); // a plain key, visible to validation
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
