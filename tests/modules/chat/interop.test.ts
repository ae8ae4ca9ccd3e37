// Interop bugs real clients hit (issue 15 §7): refusals that cannot succeed soon tell the SDKs not to
// retry; unknown routes answer a not-found code for the route, not model_not_found.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { chatWorld, errorOf, type ChatWorld } from "../../helpers/chat.ts";

let w: ChatWorld;
beforeAll(async () => {
  w = await chatWorld({ quota: { tokensPerDay: 40 } });
});
afterAll(() => w.close());

/** The official SDK with its default retries, counting the HTTP requests it makes. */
function countingClient(token = w.token) {
  const calls = { n: 0 };
  const client = new OpenAI({
    apiKey: token,
    baseURL: `${w.gw.url}/v1`,
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      calls.n++;
      return fetch(input, init);
    }) as typeof fetch,
  });
  return { client, calls };
}

describe("x-should-retry", () => {
  test("a daily quota refusal returns at once from the openai SDK (no retries), with the reset time kept", async () => {
    const { client, calls } = countingClient();
    // Use the day's budget up, then ask again.
    await client.chat.completions.create({ model: "gpt-4o-mini", max_tokens: 30, messages: [{ role: "user", content: "x [[words:1]]" }] }).catch(() => {});
    calls.n = 0;
    const started = performance.now();
    const e = await errorOf(client.chat.completions.create({ model: "gpt-4o-mini", max_tokens: 30, messages: [{ role: "user", content: "again" }] }));
    const took = performance.now() - started;
    expect(e.status).toBe(429);
    expect(e.code).toBe("insufficient_quota");
    expect(calls.n).toBe(1);
    expect(took).toBeLessThan(400); // the SDK's first backoff alone is ≥ 500 ms... or hours, by Retry-After
    expect(e.headers.get("x-should-retry")).toBe("false");
    const retryAfter = Number(e.headers.get("retry-after"));
    const toMidnight = (Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1) - Date.now()) / 1000;
    expect(Math.abs(retryAfter - toMidnight)).toBeLessThan(5);
    expect(e.headers.get("x-ratelimit-reset-tokens")).toMatch(/^(\d+h)?(\d+m)?\d+s$/);
    expect(e.message).toContain("resets at 00:00 UTC");
  });

  test("a revoked or unknown credential is not retried either", async () => {
    const { client, calls } = countingClient("ocmu_not-a-token");
    const e = await errorOf(client.models.list());
    expect(e.status).toBe(401);
    expect(e.headers.get("x-should-retry")).toBe("false");
    expect(calls.n).toBe(1);
  });

  test("a refusal that can succeed soon (per-minute rate) keeps the SDK's retries", async () => {
    const other = await chatWorld({ quota: { requestsPerMinute: 1 }, tenant: "busy" });
    try {
      const c = new OpenAI({ apiKey: other.token, baseURL: `${other.gw.url}/v1`, maxRetries: 0 });
      await c.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x [[words:1]]" }] });
      const res = await other.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] });
      expect(res.status).toBe(429);
      expect(Number(res.headers.get("retry-after"))).toBeLessThanOrEqual(60);
      expect(res.headers.get("x-should-retry")).toBeNull();
    } finally {
      await other.close();
    }
  });
});

describe("unknown routes", () => {
  test.each([
    ["POST", "/v1/chat/completion"],
    ["GET", "/v1/nothing-here"],
  ])("%s %s answers 404 not_found, not model_not_found", async (method, path) => {
    const r = await fetch(`${w.gw.url}${path}`, { method, headers: { authorization: `Bearer ${w.token}`, "content-type": "application/json" }, body: method === "POST" ? "{}" : undefined });
    expect(r.status).toBe(404);
    const body = (await r.json()) as any;
    expect(body.error.code).toBe("not_found");
    expect(body.error.message).toContain(path);
  });

  test("the SDK sees model_not_found only for an unknown model", async () => {
    const c = new OpenAI({ apiKey: w.token, baseURL: `${w.gw.url}/v1`, maxRetries: 0 });
    const e = await errorOf(c.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] }));
    expect([e.status, e.code]).toEqual([404, "model_not_found"]);
    const r = await errorOf(c.post("/no/such/route", { body: {} }));
    expect([r.status, r.code]).toEqual([404, "not_found"]);
  });
});
