// Every provider call goes through the model's router (README "Reliable routing"), not only chat and
// Messages: the Responses API passthrough and embeddings POST raw OpenAI-wire bodies through the
// router's `post`, so a key pool's key is sent, a failing first deployment fails over, the ledger
// names the deployment that served, and /metrics counts the attempts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildGatewayConfig } from "../../../src/config/load.ts";
import { readEnvironment } from "../../../src/config/env.ts";
import type { GatewayConfig } from "../../../src/config/schema.ts";
import { silentLogger } from "../../../src/core/logger.ts";
import { createProvidersService } from "../../../src/modules/providers/providers.service.ts";
import { adminKey } from "../../helpers/core.ts";
import { chatWorld, ledgerRows, type ChatWorld } from "../../helpers/chat.ts";

let w: ChatWorld;
beforeAll(async () => {
  w = await chatWorld({
    config: {
      providers: {
        pooled: { kind: "openai", baseUrl: "FAKE/v1", keys: [{ name: "k1", apiKey: "sk-pool-1" }], responses: true, timeoutMs: 5_000 },
        "dead-native": { kind: "openai", baseUrl: "http://127.0.0.1:9/v1", apiKey: "sk-dead", responses: true, timeoutMs: 2_000 },
        plain: { kind: "openai", baseUrl: "FAKE/v1", apiKey: "sk-plain", timeoutMs: 5_000 },
        second: { kind: "openai", baseUrl: "FAKE/v1", apiKey: "sk-second", responses: true, timeoutMs: 5_000 },
      },
      models: {
        "embed-pooled": { provider: "pooled", upstreamModel: "fake-embed" },
        "resp-pooled": { provider: "pooled", upstreamModel: "fake-responses" },
        "embed-robust": { provider: "dead", upstreamModel: "nothing", fallbacks: [{ provider: "second", upstreamModel: "fake-embed-2" }] },
        // `plain` does not serve the Responses API: it is no deployment of a passed-through request.
        "resp-robust": { provider: "dead-native", upstreamModel: "nothing", fallbacks: [{ provider: "plain", upstreamModel: "not-responses" }, { provider: "second", upstreamModel: "fake-responses-2" }] },
      },
    },
  });
});
afterAll(() => w.close());

const last = () => w.fake.requests[w.fake.requests.length - 1]!;
const metrics = async () => (await fetch(`${w.gw.url}/metrics`, { headers: { authorization: `Bearer ${adminKey(w.core)}` } })).text();

describe("a provider with a key pool", () => {
  test("embeddings send the pool's key", async () => {
    const out = await w.client().embeddings.create({ model: "embed-pooled", input: "hello", encoding_format: "float" });
    expect(out.data[0]!.embedding).toHaveLength(8);
    expect(last().path).toBe("/v1/embeddings");
    expect(last().headers.authorization).toBe("Bearer sk-pool-1");
    expect(ledgerRows(w.core).at(-1).deployment).toBe("pooled/fake-embed");
  });

  test("the Responses API passthrough sends the pool's key, streaming or not", async () => {
    const r = await w.client().responses.create({ model: "resp-pooled", input: "hi [[words:3]]" });
    expect(r.output_text).toBe("alpha bravo charlie");
    expect(last().path).toBe("/v1/responses");
    expect(last().headers.authorization).toBe("Bearer sk-pool-1");
    expect(ledgerRows(w.core).at(-1).deployment).toBe("pooled/fake-responses");

    const s = await w.client().responses.create({ model: "resp-pooled", input: "hi [[words:2]]", stream: true });
    let text = "";
    for await (const ev of s) if (ev.type === "response.output_text.delta") text += ev.delta;
    expect(text).toBe("alpha bravo");
    expect(last().headers.authorization).toBe("Bearer sk-pool-1");
    const row = ledgerRows(w.core).at(-1);
    expect([row.status, row.deployment]).toEqual(["ok", "pooled/fake-responses"]);
  });
});

test("the ledger names the deployment that served embeddings and a passed-through response", async () => {
  await w.client().embeddings.create({ model: "embed-pooled", input: "hello", encoding_format: "float" });
  expect(ledgerRows(w.core).at(-1).deployment).toBe("pooled/fake-embed");
  await w.client().responses.create({ model: "resp-pooled", input: "hi [[words:1]]" });
  expect(ledgerRows(w.core).at(-1).deployment).toBe("pooled/fake-responses");
  const text = await metrics();
  expect(text).toContain('openclaw_upstream_attempts_total{provider="pooled",model="embed-pooled",deployment="pooled/fake-embed",key="k1",outcome="ok"}');
  expect(text).toContain('openclaw_upstream_attempts_total{provider="pooled",model="resp-pooled",deployment="pooled/fake-responses",key="k1",outcome="ok"}');
});

describe("failover", () => {
  test("embeddings on a model whose first deployment is refused are served by the next; the ledger and /metrics name it", async () => {
    const out = await w.client().embeddings.create({ model: "embed-robust", input: "hello", encoding_format: "float" });
    expect(out.model).toBe("embed-robust");
    expect(last().path).toBe("/v1/embeddings");
    expect(last().body.model).toBe("fake-embed-2");
    expect(last().headers.authorization).toBe("Bearer sk-second");
    const row = ledgerRows(w.core).at(-1);
    expect([row.model, row.status, row.provider, row.deployment]).toEqual(["embed-robust", "ok", "dead", "second/fake-embed-2"]);
    const text = await metrics();
    expect(text).toContain('openclaw_upstream_attempts_total{provider="dead",model="embed-robust",deployment="dead/nothing",key="",outcome="error"}');
    expect(text).toContain('openclaw_upstream_attempts_total{provider="second",model="embed-robust",deployment="second/fake-embed-2",key="",outcome="ok"} 1');
  });

  test("the Responses passthrough fails over only to deployments that serve the Responses API", async () => {
    const before = w.fake.requests.length;
    const r = await w.client().responses.create({ model: "resp-robust", input: "hi [[words:3]]" });
    expect(r.model).toBe("resp-robust");
    expect(r.output_text).toBe("alpha bravo charlie");
    expect(w.fake.requests.slice(before).map((x) => [x.path, x.body.model])).toEqual([["/v1/responses", "fake-responses-2"]]);
    expect(ledgerRows(w.core).at(-1).deployment).toBe("second/fake-responses-2");
  });
});

describe("secrets resolved where used", () => {
  test("a raw POST to a provider whose key pool references an unset variable is refused, nothing sent", async () => {
    const config = buildGatewayConfig(
      {
        providers: { p: { kind: "openai", baseUrl: `${w.fake.url}/v1`, keys: [{ name: "k", apiKey: "${OPENCLAW_TEST_UNSET_KEY}" }], timeoutMs: 5_000 } },
        models: { m: { provider: "p", upstreamModel: "fake-embed", free: true } },
      },
      readEnvironment({ PATH: process.env.PATH }),
      "test",
      { deferMissing: true },
    ) as GatewayConfig;
    const svc = createProvidersService({ config: () => config, log: silentLogger() });
    const before = w.fake.requests.length;
    let err: any;
    try {
      const router = svc.forModel("m")!;
      await router.post!.complete("embeddings", { payload: JSON.stringify({ model: "fake-embed", input: "x" }), images: 0, imageBytes: 0, structured: false, framingTokens: 0 }, { controller: new AbortController(), timeoutMs: 5_000, model: "m" });
    } catch (e) {
      err = e;
    }
    expect(err?.message).toContain("environment variable that is not set");
    expect(w.fake.requests.length).toBe(before);
  });
});
