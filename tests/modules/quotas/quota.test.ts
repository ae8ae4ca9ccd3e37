// Quotas under real HTTP traffic: exact under concurrency, sliding minute window, UTC day rollover
// with an injectable clock, disconnects charged, failures released, and the headers clients read.
import { beforeAll, describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/core/clock.ts";
import { chatWorld, inputBoundOf, ledgerRows, RATES } from "../../helpers/chat.ts";
import { scope } from "../../helpers/core.ts";

const MSG = [{ role: "user", content: "count please [[words:8]] [[slow:150]]" }];
const MAX = 20;
// The bound the gateway computes for the upstream body of MSG with max_tokens MAX.
let bound = 0;
let reservation = 0;
beforeAll(async () => {
  bound = await inputBoundOf({ model: "gpt-4o-mini", max_tokens: MAX, messages: MSG });
  reservation = bound + MAX;
});
// Uses its whole output allowance, so after one of these no further request fits a budget of one reservation.
const FULL = [{ role: "user", content: "count please [[words:20]] [[slow:150]]" }];

describe("admission under concurrency", () => {
  test("200 concurrent requests against a token budget that fits 10: exactly 10 admitted, ledger within budget", async () => {
    const budget = 10 * reservation;
    const w = await chatWorld({ quota: { tokensPerDay: budget } });
    const results = await Promise.all(Array.from({ length: 200 }, () => w.post({ model: "gpt-4o-mini", max_tokens: MAX, messages: MSG })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(190);
    const refused = await results.find((r) => r.status === 429)!.json() as any;
    expect(refused.error).toMatchObject({ type: "insufficient_quota", code: "insufficient_quota" });
    const rows = ledgerRows(w.core);
    expect(rows).toHaveLength(10);
    expect(rows.reduce((a, r) => a + r.total_tokens, 0)).toBeLessThanOrEqual(budget);
    expect(w.core.quotaEngine.snapshot(scope("acme"))).toMatchObject({ inFlight: 0, reservedTokens: 0 });
    await w.close();
  }, 30_000);

  test("200 concurrent requests against a cost budget that fits 10", async () => {
    const worstMicro = Math.ceil(bound * Math.max(RATES.input, RATES.cacheWrite) + MAX * Math.max(RATES.output, RATES.reasoning));
    const budgetUsd = (10 * worstMicro) / 1e6;
    const w = await chatWorld({ quota: { costPerDayUsd: budgetUsd } });
    const results = await Promise.all(Array.from({ length: 200 }, () => w.post({ model: "gpt-4o-mini", max_tokens: MAX, messages: MSG })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    const rows = ledgerRows(w.core);
    expect(rows.reduce((a, r) => a + r.cost_micro_usd, 0)).toBeLessThanOrEqual(budgetUsd * 1e6);
    await w.close();
  }, 30_000);

  test("maxConcurrent: requests beyond the limit get rate_limit_exceeded with Retry-After", async () => {
    const w = await chatWorld({ quota: { maxConcurrent: 2 } });
    const results = await Promise.all(Array.from({ length: 5 }, () => w.post({ model: "gpt-4o-mini", messages: MSG })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 429, 429, 429]);
    const r = results.find((x) => x.status === 429)!;
    expect(r.headers.get("retry-after")).toBe("1");
    expect(((await r.json()) as any).error.code).toBe("rate_limit_exceeded");
    // Once they finish, there is room again.
    expect((await w.post({ model: "gpt-4o-mini", messages: MSG })).status).toBe(200);
    await w.close();
  }, 30_000);
});

describe("windows and days", () => {
  test("requests per minute is a sliding window", async () => {
    const clock = new ManualClock(Date.parse("2026-11-29T10:00:00Z"));
    const w = await chatWorld({ clock, quota: { requestsPerMinute: 3 } });
    const ask = () => w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    for (let i = 0; i < 3; i++) {
      const r = await ask();
      expect(r.status).toBe(200);
      expect(r.headers.get("x-ratelimit-remaining-requests")).toBe(String(2 - i));
      clock.advance(10_000);
    }
    // t=30s: the window still holds 3 (t=0,10,20).
    let r = await ask();
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("30");
    expect(((await r.json()) as any).error.code).toBe("rate_limit_exceeded");
    clock.advance(30_000); // t=60s: the t=0 admission has left the window
    expect((await ask()).status).toBe(200);
    r = await ask();
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("10");
    await w.close();
  });

  test("daily quotas reset at 00:00 UTC; Retry-After counts down to it", async () => {
    const clock = new ManualClock(Date.parse("2026-11-29T23:59:00Z"));
    const w = await chatWorld({ clock, quota: { tokensPerDay: reservation } });
    expect((await w.post({ model: "gpt-4o-mini", max_tokens: MAX, messages: FULL })).status).toBe(200);
    const refused = await w.post({ model: "gpt-4o-mini", max_tokens: MAX, messages: FULL });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("60");
    expect(refused.headers.get("x-ratelimit-reset-tokens")).toBe("1m0s");
    expect(((await refused.json()) as any).error.type).toBe("insufficient_quota");
    clock.set(Date.parse("2026-11-30T00:00:01Z"));
    const next = await w.post({ model: "gpt-4o-mini", max_tokens: MAX, messages: FULL });
    expect(next.status).toBe(200);
    expect(Number(next.headers.get("x-ratelimit-remaining-tokens"))).toBeLessThan(reservation);
    const days = w.core.usage.history({ tenant: scope("acme"), from: "2026-11-29", to: "2026-11-30" }).map((d) => [d.date, d.requests]);
    expect(days).toEqual([
      ["2026-11-29", 1],
      ["2026-11-30", 1],
    ]);
    await w.close();
  });

  test("a restarted gateway remembers today's usage from the ledger", async () => {
    const w = await chatWorld({ quota: { tokensPerDay: reservation } });
    expect((await w.post({ model: "gpt-4o-mini", max_tokens: MAX, messages: FULL })).status).toBe(200);
    w.core.quotaEngine.forget(scope("acme")); // what a restart does to the in-memory account
    const r = await w.post({ model: "gpt-4o-mini", max_tokens: MAX, messages: FULL });
    expect(r.status).toBe(429);
    await w.close();
  });
});

describe("settlement", () => {
  test("a client that disconnects mid-stream is charged at least its input, and the provider call is aborted", async () => {
    const w = await chatWorld();
    const messages = [{ role: "user", content: "long story please [[words:60]] [[slow:80]]" }];
    const ac = new AbortController();
    const res = await w.post({ model: "gpt-4o-mini", stream: true, messages }, w.token, { signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    ac.abort();
    await Bun.sleep(600);
    const row = ledgerRows(w.core).at(-1);
    expect(row.status).toBe("client_closed");
    const actualPromptTokens = 7; // what the provider would have billed (its word count)
    expect(row.input_tokens).toBeGreaterThanOrEqual(actualPromptTokens);
    expect(row.cost_micro_usd).toBeGreaterThanOrEqual(actualPromptTokens * RATES.input);
    expect(w.fake.requests.at(-1)!.aborted).toBe(true);
    expect(w.core.quotaEngine.snapshot(scope("acme"))).toMatchObject({ inFlight: 0, reservedTokens: 0 });
    await w.close();
  });

  test("a provider failure releases the reservation and charges nothing", async () => {
    const w = await chatWorld({ quota: { tokensPerDay: 2 * reservation } });
    const failed = await w.post({ model: "gpt-4o-mini", max_tokens: MAX, messages: [{ role: "user", content: "count please [[words:8]] [[slow:15]] [[error:500]]".slice(0, 52) }] });
    expect(failed.status).toBe(502);
    expect(ledgerRows(w.core).at(-1)).toMatchObject({ status: "error", total_tokens: 0, cost_micro_usd: 0, http_status: 502 });
    expect(w.core.quotaEngine.snapshot(scope("acme"))).toMatchObject({ usedTokensToday: 0, reservedTokens: 0, inFlight: 0 });
    // The whole budget is still there: two worst-case requests fit.
    const ok = await Promise.all([0, 1].map(() => w.post({ model: "gpt-4o-mini", max_tokens: MAX, messages: MSG })));
    expect(ok.map((r) => r.status)).toEqual([200, 200]);
    await w.close();
  });

  test("when little budget is left, max_tokens is clamped to what remains", async () => {
    const w = await chatWorld({ quota: { tokensPerDay: reservation - MAX + 5 } });
    const r = await w.post({ model: "gpt-4o-mini", max_tokens: MAX, messages: MSG });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-openclaw-max-tokens-clamped")).toBe("5");
    expect(w.fake.requests.at(-1)!.body.max_tokens).toBe(5);
    await w.close();
  });
});

describe("what clients see", () => {
  test("x-ratelimit headers on every /v1 response, refusals and errors included", async () => {
    const w = await chatWorld({ quota: { tokensPerDay: 100_000, requestsPerMinute: 50 } });
    const ok = await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    const models = await fetch(`${w.gw.url}/v1/models`, { headers: { authorization: `Bearer ${w.token}` } });
    const bad = await w.post({ model: "gpt-4o-mini", messages: [] });
    for (const r of [ok, models, bad]) {
      expect(r.headers.get("x-ratelimit-limit-requests")).toBe("50");
      expect(r.headers.get("x-ratelimit-limit-tokens")).toBe("100000");
      expect(r.headers.get("x-ratelimit-remaining-requests")).toMatch(/^\d+$/);
      expect(r.headers.get("x-ratelimit-remaining-tokens")).toMatch(/^\d+$/);
      expect(r.headers.get("x-ratelimit-reset-requests")).toMatch(/^(\d+h)?(\d+m)?\d+m?s$/);
      expect(r.headers.get("x-ratelimit-reset-tokens")).toMatch(/^(\d+h)?(\d+m)?\d+s$/);
    }
    expect(ok.headers.get("x-ratelimit-remaining-requests")).toBe("49");
    await w.close();
  });

  test("a suspended tenant is refused like any bad token", async () => {
    const w = await chatWorld();
    const good = await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    expect(good.status).toBe(200);
    w.core.tenants.suspend(scope("acme"), { actor: { kind: "operator", id: "t" }, requestId: "r" });
    const suspended = await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    const bogus = await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }, "ocmu_acme_000SYW7RiJxkEgOGusQGwp1HRH4J");
    expect(suspended.status).toBe(401);
    expect(await suspended.text()).toBe(await bogus.text());
    await w.close();
  });

  test("quota status and usage over RPC", async () => {
    const w = await chatWorld({ quota: { tokensPerDay: 1_000_000, costPerDayUsd: 5 } });
    await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi [[words:3]]" }] });
    await w.post({ model: "claude-x", messages: [{ role: "user", content: "hi [[words:2]]" }] });
    const rpc = async (method: string, params = {}) =>
      ((await (await fetch(`${w.gw.url}/rpc`, { method: "POST", headers: { authorization: `Bearer ${w.token}` }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) })).json()) as any).result;
    const status = await rpc("tenants.quota.status");
    expect(status.limits).toMatchObject({ tokensPerDay: 1_000_000, costPerDayUsd: 5 });
    expect(status.usage).toMatchObject({ usedTokensToday: 9, inFlight: 0, remaining: { tokensToday: 1_000_000 - 9 } });
    const usage = await rpc("tenants.usage");
    expect(usage.today).toMatchObject({ requests: 2, inputTokens: 4, outputTokens: 5, totalTokens: 9 });
    expect(usage.byModel.map((m: any) => [m.model, m.requests])).toEqual([
      ["claude-x", 1],
      ["gpt-4o-mini", 1],
    ]);
    expect(usage.today.costMicroUsd).toBe(2 * 1 + 3 * 2 + 2 * 1 + 2 * 2);
    const history = await rpc("tenants.usage.history");
    expect(history.days.map((d: any) => d.model)).toEqual(["claude-x", "gpt-4o-mini"]);
    await w.close();
  });
});
