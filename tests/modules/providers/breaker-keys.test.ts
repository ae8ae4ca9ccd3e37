// The circuit breaker per deployment, key pools (least-busy, weighted, a refused key avoided), and the
// config checks of reliable routing (issue 15 §5).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildGatewayConfig } from "../../../src/config/load.ts";
import { readEnvironment } from "../../../src/config/env.ts";
import { redactConfig } from "../../../src/config/redact.ts";
import type { GatewayConfig } from "../../../src/config/schema.ts";
import { KeyPool } from "../../../src/modules/providers/key-pool.ts";
import type { CallContext } from "../../../src/modules/providers/provider.ts";
import { createProvidersService } from "../../../src/modules/providers/providers.service.ts";
import { startFakeProvider, type FakeProvider } from "../../fake-provider/fake-provider.ts";
import { silentLogger } from "../../../src/core/logger.ts";

let a: FakeProvider;
let b: FakeProvider;
beforeAll(() => {
  a = startFakeProvider();
  b = startFakeProvider();
});
afterAll(() => {
  a.stop();
  b.stop();
});

const env = () => readEnvironment({ PATH: process.env.PATH });
/** Every model marked free (routing is under test here, not pricing). */
const free = (models: Record<string, any> = {}) => Object.fromEntries(Object.entries(models).map(([k, v]) => [k, { ...v, free: true }]));
const build = (raw: Record<string, any>) => buildGatewayConfig({ providers: {}, ...raw, models: free(raw.models) }, env(), "test") as GatewayConfig;

function world(raw: Record<string, any>) {
  const config = build(raw);
  let now = 1_000_000;
  const attempts: any[] = [];
  const opened: string[] = [];
  const svc = createProvidersService({
    config: () => config,
    log: silentLogger(),
    now: () => now,
    random: () => 0,
    metrics: { attempt: (l) => attempts.push(l), fallback: () => {}, breakerOpened: (m, d) => opened.push(`${m} ${d}`) },
  });
  return { svc, attempts, opened, advance: (ms: number) => (now += ms) };
}

const ctx = (served?: string[]): CallContext => ({ controller: new AbortController(), timeoutMs: 5_000, model: "m", served: served ? (d) => served.push(d) : undefined });
const BODY = { model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 50 };
const openai = (url: string, extra: Record<string, unknown> = {}) => ({ kind: "openai", baseUrl: url, timeoutMs: 5_000, ...extra });

async function call(svc: ReturnType<typeof world>["svc"], served?: string[], content = "hi") {
  const p = svc.forModel("m")!;
  try {
    return await p.complete(p.prepare({ ...BODY, messages: [{ role: "user", content }] }, false), ctx(served));
  } catch (err) {
    return err as any;
  }
}

describe("circuit breaker", () => {
  test("opens after `failures` consecutive failures, skips the deployment during the cooldown, then lets one trial through", async () => {
    const w = world({
      providers: { a: openai(`${a.url}/v1`, { apiKey: "sk" }), b: openai(`${b.url}/v1`, { apiKey: "sk" }) },
      models: { m: { provider: "a", upstreamModel: "fake-a", fallbacks: [{ provider: "b", upstreamModel: "fake-b" }] } },
      routing: { retries: 0, breaker: { failures: 2, cooldownSeconds: 10 } },
    });
    a.fault({ status: 500 }, 2);
    const aBefore = a.requests.length;
    for (let i = 0; i < 2; i++) {
      const served: string[] = [];
      await call(w.svc, served);
      expect(served).toEqual(["b/fake-b"]);
    }
    expect(a.requests.length).toBe(aBefore + 2);
    expect(w.opened).toEqual(["m a/fake-a"]);

    // Open: deployment 1 is not even tried.
    const served: string[] = [];
    await call(w.svc, served);
    expect(served).toEqual(["b/fake-b"]);
    expect(a.requests.length).toBe(aBefore + 2);
    expect(w.attempts.at(-2)).toMatchObject({ deployment: "a/fake-a", outcome: "circuit_open" });

    // After the cooldown one trial goes to deployment 1; it succeeds and closes the circuit.
    w.advance(10_000);
    const again: string[] = [];
    await call(w.svc, again);
    expect(again).toEqual(["a/fake-a"]);
    expect(a.requests.length).toBe(aBefore + 3);
  });

  test("a failed trial opens the circuit again at once; with every deployment open the call fails fast with 503 and Retry-After", async () => {
    const w = world({
      providers: { a: openai(`${a.url}/v1`, { apiKey: "sk" }), b: openai(`${b.url}/v1`, { apiKey: "sk" }) },
      models: { m: { provider: "a", upstreamModel: "fake-a", fallbacks: [{ provider: "b", upstreamModel: "fake-b" }] } },
      routing: { breaker: { failures: 1, cooldownSeconds: 30 } },
    });
    a.fault({ status: 503 });
    b.fault({ status: 503 });
    expect((await call(w.svc)).code).toBe("UNAVAILABLE");
    const before = a.requests.length + b.requests.length;
    const fast = await call(w.svc);
    expect(fast.code).toBe("UNAVAILABLE");
    expect(fast.message).toContain('every deployment of model "m" is failing');
    expect(fast.headers["retry-after"]).toBe("30");
    expect(a.requests.length + b.requests.length).toBe(before);
    w.advance(30_000);
    a.fault({ status: 503 });
    b.fault({ status: 503 });
    expect((await call(w.svc)).message).toContain("overloaded"); // the trials reached the providers
    expect(a.requests.length + b.requests.length).toBe(before + 2);
    expect((await call(w.svc)).message).toContain("every deployment"); // and failed: open again
  });

  test("a model with one deployment always tries it: the provider's own error, never a gateway 503 (old configs unchanged)", async () => {
    const w = world({ providers: { a: openai(`${a.url}/v1`, { apiKey: "sk" }) }, models: { m: { provider: "a", upstreamModel: "fake-a" } }, routing: { breaker: { failures: 1 } } });
    a.fault({ status: 429 }, 3);
    for (let i = 0; i < 3; i++) expect((await call(w.svc)).code).toBe("RATE_LIMITED");
    expect((await call(w.svc)).body).toBeDefined();
  });

  test("a request refused as invalid does not count against the deployment", async () => {
    const w = world({ providers: { a: openai(`${a.url}/v1`, { apiKey: "sk" }) }, models: { m: { provider: "a", upstreamModel: "fake-a" } }, routing: { breaker: { failures: 1 } } });
    a.fault({ status: 400 });
    expect((await call(w.svc)).code).toBe("INVALID_PARAMS");
    expect((await call(w.svc)).body).toBeDefined();
    expect(w.opened).toEqual([]);
  });
});

describe("key pools", () => {
  const pooled = (strategy: string, keys: any[]) => ({ a: openai(`${a.url}/v1`, { keys, keyStrategy: strategy }) });
  const authOf = (n: number) => a.requests.slice(-n).map((r) => r.headers.authorization);

  test("least-busy: concurrent calls spread over the keys by in-flight count and weight", async () => {
    const w = world({ providers: pooled("least-busy", [{ name: "k1", apiKey: "sk-1" }, { name: "k2", apiKey: "sk-2", weight: 2 }]), models: { m: { provider: "a", upstreamModel: "fake-a" } } });
    await Promise.all([0, 1, 2].map(() => call(w.svc, undefined, "[[slow:150]]")));
    const used = authOf(3).sort();
    expect(used).toEqual(["Bearer sk-1", "Bearer sk-2", "Bearer sk-2"]);
    expect(w.svc.keysInFlight("a")).toEqual({ k1: 0, k2: 0 }); // every lease was returned
    expect(w.attempts.map((x) => x.key).sort()).toEqual(["k1", "k2", "k2"]);
  });

  test("least-busy rotates idle traffic; a pinned key (models.<m>.key) is always used", async () => {
    const w = world({ providers: pooled("least-busy", [{ name: "k1", apiKey: "sk-1" }, { name: "k2", apiKey: "sk-2" }]), models: { m: { provider: "a", upstreamModel: "fake-a" }, p: { provider: "a", upstreamModel: "fake-a", key: "k2" } } });
    for (let i = 0; i < 4; i++) await call(w.svc);
    expect(authOf(4)).toEqual(["Bearer sk-1", "Bearer sk-2", "Bearer sk-1", "Bearer sk-2"]);
    const p = w.svc.forModel("p")!;
    const served: string[] = [];
    for (let i = 0; i < 3; i++) await p.complete(p.prepare({ ...BODY }, false), ctx(served));
    expect(authOf(3)).toEqual(["Bearer sk-2", "Bearer sk-2", "Bearer sk-2"]);
    expect(served[0]).toBe("a/fake-a#k2");
  });

  test("weighted: keys are drawn in proportion to their weights", () => {
    let r = 0;
    const seq = [0.1, 0.3, 0.5, 0.9];
    const pool = new KeyPool([{ name: "k1", apiKey: "1", weight: 1 }, { name: "k3", apiKey: "3", weight: 3 }], "weighted", () => 0, () => seq[r++ % seq.length]!);
    const picks = seq.map(() => {
      const l = pool.acquire();
      l.release("ok");
      return l.key.name;
    });
    expect(picks).toEqual(["k1", "k3", "k3", "k3"]); // 0.1×4 = 0.4 < 1 → k1; the rest fall in k3's 3/4
  });

  test("a key the provider refuses (401) is set aside and the call retried at once on another key", async () => {
    const w = world({ providers: pooled("least-busy", [{ name: "bad", apiKey: "sk-bad" }, { name: "good", apiKey: "sk-good" }]), models: { m: { provider: "a", upstreamModel: "fake-a" } } });
    a.fault({ status: 401 });
    const out = await call(w.svc);
    expect(out.body).toBeDefined();
    expect(authOf(2)).toEqual(["Bearer sk-bad", "Bearer sk-good"]);
    expect(w.attempts.map((x) => `${x.key} ${x.outcome}`)).toEqual(["bad refused", "good ok"]);
    for (let i = 0; i < 3; i++) await call(w.svc);
    expect(authOf(3)).toEqual(["Bearer sk-good", "Bearer sk-good", "Bearer sk-good"]);
  });
});

describe("config", () => {
  const problems = (raw: Record<string, any>) => {
    try {
      build(raw);
      return "";
    } catch (err) {
      return (err as Error).message;
    }
  };

  test("fallbacks must name configured providers of the model's kind, and pinned keys must exist", () => {
    const providers = { o: openai("http://x/v1", { apiKey: "k" }), c: { kind: "anthropic", baseUrl: "http://x" }, p: openai("http://x/v1", { keys: [{ name: "k1", apiKey: "s" }] }) };
    expect(problems({ providers, models: { m: { provider: "o", upstreamModel: "u", fallbacks: [{ provider: "nope", upstreamModel: "u" }] } } })).toContain('"models.m.fallbacks[0].provider" names provider "nope", which is not configured');
    expect(problems({ providers, models: { m: { provider: "o", upstreamModel: "u", fallbacks: [{ provider: "c", upstreamModel: "u" }] } } })).toContain('is of kind "anthropic", but the model\'s provider "o" is of kind "openai"');
    expect(problems({ providers, models: { m: { provider: "p", upstreamModel: "u", key: "k9" } } })).toContain('names key "k9", which provider "p" does not list in its keys');
    expect(problems({ providers, models: { m: { provider: "o", upstreamModel: "u", fallbacks: [{ provider: "p", upstreamModel: "u", key: "k1" }] } } })).toBe("");
    expect(problems({ providers: { p: openai("http://x/v1", { apiKey: "a", keys: [{ name: "k1", apiKey: "s" }] }) } })).toContain("set either apiKey or keys, not both");
    expect(problems({ providers: { p: openai("http://x/v1", { keys: [{ name: "k1", apiKey: "s" }, { name: "k1", apiKey: "t" }] }) } })).toContain('"k1" is listed twice');
    expect(problems({ routing: { retries: 11 } })).toContain("routing.retries");
    expect(problems({ providers: { aws: { kind: "bedrock", baseUrl: "http://x", region: "us-east-1", accessKeyId: "a", secretAccessKey: "s", keys: [{ name: "k1", apiKey: "s" }] } } })).toContain('is not taken by kind "bedrock"');
  });

  test("an old config gets the routing defaults (no retries) and no telemetry; key secrets and telemetry headers are redacted", () => {
    const c = build({ providers: { o: openai("http://x/v1", { apiKey: "k" }) }, models: { m: { provider: "o", upstreamModel: "u" } } });
    expect(c.routing).toEqual({ retries: 0, backoffMs: 100, maxBackoffMs: 2000, breaker: { failures: 5, cooldownSeconds: 30 } });
    expect(c.telemetry.otlp).toBeUndefined();
    const shown = JSON.stringify(redactConfig({ providers: { p: { keys: [{ name: "k1", apiKey: "sk-secret" }] } }, telemetry: { otlp: { endpoint: "http://c", headers: { authorization: "Bearer t0ken" } } } }));
    expect(shown).not.toContain("sk-secret");
    expect(shown).not.toContain("t0ken");
    expect(shown).toContain("k1");
  });
});
