// Deeply nested JSON (red team 11, finding 1): a 1 MiB body nested as deep as it can go, on every
// surface that parses JSON, is answered with a clear refusal naming the limit within a second — and
// a real listening gateway keeps answering /healthz meanwhile — instead of holding the event loop
// (and every other tenant) for minutes in a walk that was quadratic in the depth.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import type { Core } from "../../src/app/core.ts";
import { startGateway, type GatewayHandle } from "../../src/http/gateway.ts";
import { findReservedKey, jsonDepthExcess } from "../../src/lib/json-safe.ts";
import { adminKey, createTenant, makeHome, testCore, scope } from "../helpers/core.ts";

const MiB = 1024 * 1024;

/** `prefix` + as many `[` as fit in `size` bytes + the same `]` + `suffix`. */
function deepBody(prefix: string, suffix: string, size = MiB): string {
  const d = Math.floor((size - prefix.length - suffix.length) / 2);
  return prefix + "[".repeat(d) + "]".repeat(d) + suffix;
}

let core: Core;
let gw: GatewayHandle;
let token: string;
let admin: string;

beforeAll(() => {
  // Control-plane bodies may be as large as RPC ones here, so the depth (not the size) is what is refused.
  core = testCore({ config: { gateway: { port: 0, limits: { adminBodyBytes: 2 * MiB } } } });
  token = createTenant(core, "acme");
  admin = adminKey(core);
  gw = startGateway(core);
});

afterAll(async () => {
  await gw.stop();
});

/** Sends one request while another client probes /healthz every 20 ms; reports both times. */
async function whileProbing(send: () => Promise<Response>): Promise<{ res: Response; text: string; ms: number; worstProbeMs: number }> {
  let stop = false;
  let worstProbeMs = 0;
  const probe = (async () => {
    while (!stop) {
      const t = performance.now();
      const r = await fetch(`${gw.url}/healthz`);
      await r.text();
      worstProbeMs = Math.max(worstProbeMs, performance.now() - t);
      await Bun.sleep(20);
    }
  })();
  await Bun.sleep(50);
  const t = performance.now();
  const res = await send();
  const text = await res.text();
  const ms = performance.now() - t;
  stop = true;
  await probe;
  return { res, text, ms, worstProbeMs };
}

const post = (p: string, body: string, bearer: string) => () =>
  fetch(`${gw.url}${p}`, { method: "POST", headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" }, body });

describe("a 1 MiB maximally nested body is refused quickly on every surface", () => {
  test("RPC: -32600 naming the limit, /healthz answering meanwhile", async () => {
    const body = deepBody('{"jsonrpc":"2.0","id":1,"method":"health","params":{"a":', "}}", MiB - 1);
    expect(body.length).toBeLessThan(MiB);
    const r = await whileProbing(post("/rpc", body, token));
    expect(r.res.status).toBe(200);
    const json = JSON.parse(r.text);
    expect(json.error.code).toBe(-32600);
    expect(json.error.message).toContain("nested deeper than 64 levels");
    expect(json.error.message).toContain("gateway.limits.jsonMaxDepth");
    expect(r.ms).toBeLessThan(1000);
    expect(r.worstProbeMs).toBeLessThan(1000);
  }, 60_000);

  test("RPC: in a batch, and in config.set's overlay (validated a second time)", async () => {
    for (const [prefix, suffix] of [
      ['[{"jsonrpc":"2.0","id":1,"method":"health"},{"jsonrpc":"2.0","id":2,"method":"health","params":{"a":', "}}]"],
      ['{"jsonrpc":"2.0","id":1,"method":"config.set","params":{"config":{"agent":{"systemPrompt":', "}}}}"],
    ] as const) {
      const r = await whileProbing(post("/rpc", deepBody(prefix, suffix, MiB - 1), token));
      expect(JSON.parse(r.text).error).toMatchObject({ code: -32600, data: { code: "BAD_REQUEST" } });
      expect(r.ms).toBeLessThan(1000);
      expect(r.worstProbeMs).toBeLessThan(1000);
    }
    expect(core.overlays.load(scope("acme"))).toEqual({}); // nothing was written
  }, 60_000);

  test("control plane: 400 naming the limit", async () => {
    const r = await whileProbing(post("/admin/v1/tenants", deepBody('{"id":"deep","displayName":', "}", MiB), admin));
    expect(r.res.status).toBe(400);
    expect(JSON.parse(r.text).error).toMatchObject({ code: "BAD_REQUEST" });
    expect(JSON.parse(r.text).error.message).toMatch(/nested deeper than 64 levels .*gateway\.limits\.jsonMaxDepth/);
    expect(r.ms).toBeLessThan(1000);
    expect(r.worstProbeMs).toBeLessThan(1000);
    expect(core.tenants.exists("deep")).toBe(false);
  }, 60_000);

  test("OpenAI routes: 400 naming the limit (a tool schema nested past it)", async () => {
    const body = deepBody('{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","x":', "}}}]}", MiB);
    const r = await whileProbing(post("/v1/chat/completions", body, token));
    expect(r.res.status).toBe(400);
    expect(JSON.parse(r.text).error.message).toMatch(/nested deeper than 64 levels .*gateway\.limits\.jsonMaxDepth/);
    expect(r.ms).toBeLessThan(1000);
    expect(r.worstProbeMs).toBeLessThan(1000);
  }, 60_000);

  test("a body at the limit is still accepted", async () => {
    // {"jsonrpc",…,"params":{"a": 62 levels}} is 64 levels in all.
    const body = `{"jsonrpc":"2.0","id":1,"method":"health","params":{"a":${"[".repeat(62)}${"]".repeat(62)}}}`;
    const res = await post("/rpc", body, token)();
    expect(((await res.json()) as any).error.data.code).toBe("INVALID_PARAMS"); // parsed, then refused by the schema: `a` is unknown
    const deeper = `{"jsonrpc":"2.0","id":1,"method":"health","params":{"a":${"[".repeat(63)}${"]".repeat(63)}}}`;
    expect(((await (await post("/rpc", deeper, token)()).json()) as any).error.code).toBe(-32600);
  });
});

describe("config files", () => {
  test("a 1 MiB nested openclaw.json is refused at load with its line, column and the limit", () => {
    const home = makeHome();
    fs.writeFileSync(path.join(home, "openclaw.json"), deepBody('{"gateway":{"limits":', "}}", MiB), { mode: 0o600 });
    const t = performance.now();
    expect(() => testCore({ home })).toThrow(/openclaw\.json:1:\d+: JSON nested deeper than 64 levels/);
    expect(performance.now() - t).toBeLessThan(1000);
  });

  test("a maximally nested tenant overlay refuses that tenant alone, quickly", () => {
    const file = path.join(core.tenants.dir(scope("acme")), "openclaw.json");
    // An overlay file may hold 256 KiB: as deep as that allows.
    fs.writeFileSync(file, deepBody('{"agent":{"systemPrompt":', "}}", 256 * 1024 - 1), { mode: 0o600 });
    try {
      const t = performance.now();
      expect(() => core.overlays.load(scope("acme"))).toThrow(/nested deeper than 64 levels/);
      expect(performance.now() - t).toBeLessThan(1000);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});

describe("the checks are linear", () => {
  test("the reserved-key walk of a 60,000-deep value takes milliseconds and still names the path", () => {
    const d = 60_000;
    const value = JSON.parse(`{"a":${"[".repeat(d)}{"__proto__":1}${"]".repeat(d)}}`);
    const t = performance.now();
    const found = findReservedKey(value);
    expect(performance.now() - t).toBeLessThan(1000);
    expect(found).toHaveLength(d + 2);
    expect(found![0]).toBe("a");
    expect(found!.at(-1)).toBe("__proto__");
  });

  test("the depth scan ignores brackets in strings and comments, and handles escapes", () => {
    expect(jsonDepthExcess('{"a":"[[[[[[", "b":[1]}', 2)).toBeNull();
    const escapedQuote = '{"a":"\\"[[[[", "b":[[1]]}';
    expect(jsonDepthExcess(escapedQuote, 2)).toBe(escapedQuote.indexOf("[[1") + 1);
    const escapedBackslash = '{"a":"\\\\", "b":[[1]]}';
    expect(jsonDepthExcess(escapedBackslash, 2)).toBe(escapedBackslash.indexOf("[[1") + 1);
    expect(jsonDepthExcess('{ // [[[[\n "b":[/* [[[ */1]}', 2, { comments: true })).toBeNull();
    expect(jsonDepthExcess('{ // [[[[\n "b":[/* [[[ */[1]]}', 2, { comments: true })).toBe(25);
    // 8 MiB of ordinary text: far below a second.
    const big = JSON.stringify({ messages: Array.from({ length: 4000 }, (_, i) => ({ role: "user", content: `line ${i} \\"[{` + "x".repeat(2000) })) });
    const t = performance.now();
    expect(jsonDepthExcess(big, 64)).toBeNull();
    expect(performance.now() - t).toBeLessThan(500);
  });
});
