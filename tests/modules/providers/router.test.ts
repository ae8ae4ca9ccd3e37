// Reliable routing with fault injection (issue 15 §5, §8): retries before the first byte with jittered
// backoff, fallback to the next deployment, the circuit breaker, key pools, per-phase timeouts, and
// attempt logs and counters — against real HTTP stand-ins (tests/fake-provider), a refused port, and a
// fake clock for the breaker's cooldown.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildGatewayConfig } from "../../../src/config/load.ts";
import { readEnvironment } from "../../../src/config/env.ts";
import type { GatewayConfig } from "../../../src/config/schema.ts";
import { AppError } from "../../../src/core/errors.ts";
import { ClientGone, type CallContext, type StreamItem } from "../../../src/modules/providers/provider.ts";
import { createProvidersService } from "../../../src/modules/providers/providers.service.ts";
import { startFakeProvider, type FakeProvider } from "../../fake-provider/fake-provider.ts";
import { captureLog } from "../../helpers/core.ts";

const REFUSED = "http://127.0.0.1:9/v1"; // discard port: nothing listens, the connection is refused

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

/** Every model marked free (routing is under test here, not pricing). */
const free = (models: Record<string, any> = {}) => Object.fromEntries(Object.entries(models).map(([k, v]) => [k, { ...v, free: true }]));

function world(raw: Record<string, any>, opts: { random?: () => number } = {}) {
  const config = buildGatewayConfig({ providers: {}, ...raw, models: free(raw.models) }, readEnvironment({ PATH: process.env.PATH }), "test") as GatewayConfig;
  let now = 1_000_000;
  const attempts: Record<string, unknown>[] = [];
  const fallbacks: string[] = [];
  const opened: string[] = [];
  const { log, lines } = captureLog();
  const svc = createProvidersService({
    config: () => config,
    log,
    now: () => now,
    random: opts.random ?? (() => 0),
    metrics: { attempt: (l) => attempts.push(l), fallback: (m) => fallbacks.push(m), breakerOpened: (m, d) => opened.push(`${m} ${d}`) },
  });
  return { svc, attempts, fallbacks, opened, lines, advance: (ms: number) => (now += ms) };
}

function ctx(served?: string[]): CallContext {
  return { controller: new AbortController(), timeoutMs: 5_000, model: "m", served: served ? (d) => served.push(d) : undefined };
}

const BODY = { model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 50 };
const openai = (url: string, extra: Record<string, unknown> = {}) => ({ kind: "openai", baseUrl: url, apiKey: "sk", timeoutMs: 5_000, ...extra });

async function complete(svc: ReturnType<typeof world>["svc"], model = "m", served?: string[]) {
  const p = svc.forModel(model)!;
  return p.complete(p.prepare({ ...BODY }, false), ctx(served));
}

async function errorOf(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

describe("fallback and retries before the first byte", () => {
  test("a refused connection falls back to the next deployment, which the served hook names", async () => {
    const w = world({ providers: { dead: openai(REFUSED), b: openai(`${b.url}/v1`) }, models: { m: { provider: "dead", upstreamModel: "x", fallbacks: [{ provider: "b", upstreamModel: "fake-b" }] } } });
    const served: string[] = [];
    const before = b.requests.length;
    const out = await complete(w.svc, "m", served);
    expect((out.body as any).choices[0].message.content).toBe("w0 w1 w2 w3 w4");
    expect(served).toEqual(["b/fake-b"]);
    expect(b.requests.length).toBe(before + 1);
    expect(b.requests.at(-1)!.body.model).toBe("fake-b"); // each deployment gets its own upstream model
    expect(w.attempts.map((x: any) => `${x.deployment} ${x.outcome}`)).toEqual(["dead/x error", "b/fake-b ok"]);
    expect(w.fallbacks).toEqual(["m"]);
    // The failed attempt is a warning naming the deployment; the success is not logged as a failure.
    const warn = w.lines.filter((l) => l.msg === "provider attempt failed");
    expect(warn.length).toBe(1);
    expect(warn[0]).toMatchObject({ level: "warn", deployment: "dead/x", outcome: "error" });
  });

  test("503 before the first byte is retried on the same deployment with jittered, growing backoff", async () => {
    const waits: number[] = [];
    const w = world({ providers: { a: openai(`${a.url}/v1`) }, models: { m: { provider: "a", upstreamModel: "fake-a" } }, routing: { retries: 2, backoffMs: 100, maxBackoffMs: 1000 } }, { random: () => 0.5 });
    a.fault({ status: 503 }, 2);
    const before = a.requests.length;
    const t0 = performance.now();
    const out = await complete(w.svc);
    waits.push(performance.now() - t0);
    expect((out.body as any).choices[0].message.content).toBe("w0 w1 w2 w3 w4");
    expect(a.requests.length).toBe(before + 3);
    expect(w.attempts.map((x: any) => x.outcome)).toEqual(["unavailable", "unavailable", "ok"]);
    // Full jitter at 0.5: 50 ms, then 100 ms.
    expect(waits[0]!).toBeGreaterThanOrEqual(145);
  });

  test("retries exhausted on deployment 1 (429) move on to deployment 2; a Retry-After longer than maxBackoffMs is not waited for", async () => {
    const w = world({
      providers: { a: openai(`${a.url}/v1`), b: openai(`${b.url}/v1`) },
      models: { m: { provider: "a", upstreamModel: "fake-a", fallbacks: [{ provider: "b", upstreamModel: "fake-b" }] } },
      routing: { retries: 3, backoffMs: 10, maxBackoffMs: 500 },
    });
    a.fault({ status: 429, retryAfter: "30" });
    const t0 = performance.now();
    const served: string[] = [];
    await complete(w.svc, "m", served);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(served).toEqual(["b/fake-b"]);
    expect(w.attempts.map((x: any) => x.outcome)).toEqual(["rate_limited", "ok"]);
  });

  test("a request the provider refuses as invalid (400) is neither retried nor sent to a fallback", async () => {
    const w = world({ providers: { a: openai(`${a.url}/v1`), b: openai(`${b.url}/v1`) }, models: { m: { provider: "a", upstreamModel: "fake-a", fallbacks: [{ provider: "b", upstreamModel: "fake-b" }] } }, routing: { retries: 3 } });
    a.fault({ status: 400 });
    const bBefore = b.requests.length;
    const err = await errorOf(complete(w.svc));
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe("INVALID_PARAMS");
    expect(b.requests.length).toBe(bBefore);
    expect(w.attempts.map((x: any) => x.outcome)).toEqual(["invalid"]);
  });

  test("old configs: one deployment and no routing section behave as before (one attempt, the provider's error)", async () => {
    const w = world({ providers: { a: openai(`${a.url}/v1`) }, models: { m: { provider: "a", upstreamModel: "fake-a" } } });
    a.fault({ status: 503 });
    const before = a.requests.length;
    const err = await errorOf(complete(w.svc));
    expect(err.code).toBe("UNAVAILABLE");
    expect(a.requests.length).toBe(before + 1);
    expect(w.svc.forModel("m")).toBe(w.svc.forModel("m")); // built once per config
  });

  test("all deployments failing: the last error is returned after each was tried", async () => {
    const w = world({ providers: { dead: openai(REFUSED), a: openai(`${a.url}/v1`) }, models: { m: { provider: "dead", upstreamModel: "x", fallbacks: [{ provider: "a", upstreamModel: "fake-a" }] } } });
    a.fault({ status: 502 });
    const err = await errorOf(complete(w.svc));
    expect(err.code).toBe("UPSTREAM_ERROR");
    expect(err.message).toContain('provider "a" returned 502');
  });
});

describe("streams", () => {
  async function drain(it: AsyncIterable<StreamItem>): Promise<string> {
    let text = "";
    for await (const item of it) text += ((item.chunk?.choices as any[])?.[0]?.delta?.content as string | undefined) ?? "";
    return text;
  }

  test("a stream cut before its first event is still retried; a cut after it is not, and counts as a failure", async () => {
    const w = world({ providers: { a: openai(`${a.url}/v1`), b: openai(`${b.url}/v1`) }, models: { m: { provider: "a", upstreamModel: "fake-a", fallbacks: [{ provider: "b", upstreamModel: "fake-b" }] } }, routing: { retries: 1, backoffMs: 0 } });
    const p = w.svc.forModel("m")!;
    a.fault("stream-cut");
    const served: string[] = [];
    expect(await drain(await p.stream(p.prepare({ ...BODY }, true), ctx(served)))).toBe("w0 w1 w2 w3 w4");
    expect(served).toEqual(["a/fake-a"]);
    expect(w.attempts.map((x: any) => x.outcome)).toEqual(["error", "ok"]);

    w.attempts.length = 0;
    a.fault("midstream");
    const bBefore = b.requests.length;
    const stream = await p.stream(p.prepare({ ...BODY }, true), ctx());
    const err = await errorOf(drain(stream));
    expect(err.code).toBe("UPSTREAM_ERROR");
    expect(b.requests.length).toBe(bBefore); // the client had bytes: no fallback
    expect(w.attempts.map((x: any) => x.outcome)).toEqual(["midstream_error"]);
    expect(w.lines.some((l) => l.level === "warn" && l.outcome === "midstream_error")).toBe(true);
  });

  test("the client going away ends the attempt and is not retried", async () => {
    const w = world({ providers: { a: openai(`${a.url}/v1`) }, models: { m: { provider: "a", upstreamModel: "fake-a" } }, routing: { retries: 3 } });
    const p = w.svc.forModel("m")!;
    const c = ctx();
    a.fault("hang");
    const before = a.requests.length;
    const pending = errorOf(p.complete(p.prepare({ ...BODY }, false), c));
    await Bun.sleep(50);
    c.controller.abort(new ClientGone());
    expect(await pending).toBeInstanceOf(ClientGone);
    expect(a.requests.length).toBe(before + 1);
    expect(w.attempts.map((x: any) => x.outcome)).toEqual(["client_closed"]);
  });
});

describe("timeouts", () => {
  test("first-byte timeout: a provider that accepts and never answers fails over after firstByteTimeoutMs, not timeoutMs", async () => {
    const w = world({ providers: { a: openai(`${a.url}/v1`, { timeoutMs: 30_000, firstByteTimeoutMs: 200 }), b: openai(`${b.url}/v1`) }, models: { m: { provider: "a", upstreamModel: "fake-a", fallbacks: [{ provider: "b", upstreamModel: "fake-b" }] } } });
    a.fault("hang");
    const t0 = performance.now();
    const served: string[] = [];
    await complete(w.svc, "m", served);
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(3000);
    expect(served).toEqual(["b/fake-b"]);
    expect(w.attempts.map((x: any) => x.outcome)).toEqual(["timeout", "ok"]);
  });

  test("idle timeout: a stream that goes quiet after its first event fails after idleTimeoutMs", async () => {
    const w = world({ providers: { a: openai(`${a.url}/v1`, { timeoutMs: 30_000, idleTimeoutMs: 200 }) }, models: { m: { provider: "a", upstreamModel: "fake-a" } } });
    const p = w.svc.forModel("m")!;
    const t0 = performance.now();
    const it = await p.stream(p.prepare({ ...BODY, messages: [{ role: "user", content: "[[slow:2000]]" }] }, true), ctx());
    const err = await errorOf((async () => {
      for await (const _ of it);
    })());
    expect(err.code).toBe("UPSTREAM_TIMEOUT");
    expect(performance.now() - t0).toBeLessThan(1500);
  });

  test("connect timeout: a host that accepts no connection fails the attempt after connectTimeoutMs (probed), long before the first-byte limit", async () => {
    // A listener whose accept queue is full drops further SYNs: connections to it hang, as to a dead host.
    const full = Bun.spawn(["python3", "-c", "import socket,time\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen(0)\nprint(s.getsockname()[1],flush=True)\nc=[socket.create_connection(s.getsockname(),timeout=0.2) for _ in range(1)]\nfor _ in range(4):\n  try: c.append(socket.create_connection(s.getsockname(),timeout=0.2))\n  except Exception: pass\ntime.sleep(60)"], { stdout: "pipe" });
    const port = Number(await readFirstLine(full));
    try {
      const w = world({ providers: { a: openai(`http://127.0.0.1:${port}/v1`, { timeoutMs: 30_000, connectTimeoutMs: 150 }), b: openai(`${b.url}/v1`) }, models: { m: { provider: "a", upstreamModel: "x", fallbacks: [{ provider: "b", upstreamModel: "fake-b" }] } } });
      const t0 = performance.now();
      const served: string[] = [];
      await complete(w.svc, "m", served);
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(served).toEqual(["b/fake-b"]);
    } finally {
      full.kill();
    }
  });
});

async function readFirstLine(p: { stdout: ReadableStream<Uint8Array> }): Promise<string> {
  const reader = p.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  return new TextDecoder().decode(value).trim();
}
