// Circuit breakers count each tenant's failures apart (red-team finding F5 of issue 15): one tenant's
// own failing requests (answers slower than the timeout, inputs the provider errors on) opened every
// deployment's circuit for every tenant — two cheap requests refused a model to all others with 503
// for the cooldown, again and again. Now they open the circuits for that tenant only.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chatWorld, createTenant, ledgerRows, type ChatWorld } from "../../helpers/chat.ts";

let w: ChatWorld;
let other: string;
beforeAll(async () => {
  w = await chatWorld({
    config: {
      providers: {
        a: { kind: "openai", baseUrl: "FAKE/v1", apiKey: "sk-a", timeoutMs: 5_000, firstByteTimeoutMs: 150 },
        b: { kind: "openai", baseUrl: "FAKE/v1", apiKey: "sk-b", timeoutMs: 5_000, firstByteTimeoutMs: 150 },
      },
      models: { shared: { provider: "a", upstreamModel: "fake-a", fallbacks: [{ provider: "b", upstreamModel: "fake-b" }] } },
      routing: { retries: 0, breaker: { failures: 2, cooldownSeconds: 60 } },
      billing: { rateCard: { shared: { input: 1, output: 2 }, "gpt-4o-mini": { input: 1, output: 2 }, "claude-x": { input: 1, output: 2 } } },
    },
  });
  other = createTenant(w.core, "globex");
});
afterAll(() => w.close());

const ask = (token: string, content: string) => w.post({ model: "shared", max_tokens: 10, messages: [{ role: "user", content }] }, token);

test("a tenant whose requests time out on every deployment opens the circuits for itself only", async () => {
  // Each hangs on both deployments: two failures each, the breaker's threshold.
  for (let i = 0; i < 2; i++) expect((await ask(w.token, "slow [[hang]]")).status).toBe(504);
  const again = await ask(w.token, "hello");
  expect(again.status).toBe(503);
  const before = w.fake.requests.length;
  const res = await ask(other, "hello [[words:2]]");
  expect(res.status).toBe(200);
  expect(((await res.json()) as any).choices[0].message.content).toBe("w0 w1");
  expect(w.fake.requests.length).toBe(before + 1);
  expect(ledgerRows(w.core).at(-1)).toMatchObject({ tenant_id: "globex", status: "ok", deployment: "a/fake-a" });
});
