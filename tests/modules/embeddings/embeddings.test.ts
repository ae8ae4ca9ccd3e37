// POST /v1/embeddings with the official openai SDK and LangChain's OpenAIEmbeddings: vectors back
// (float and the SDK's default base64), metered by input tokens at the model's input rate, admitted
// against the quotas before anything is sent, and bad input refused naming the field.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { OpenAIEmbeddings } from "@langchain/openai";
import { chatWorld, errorOf, ledgerRows, type ChatWorld } from "../../helpers/chat.ts";

const EMBED_RATES = { input: 2, output: 0 };
let w: ChatWorld;
beforeAll(async () => {
  w = await chatWorld({
    config: {
      models: { "embed-small": { provider: "local", upstreamModel: "fake-embed" } },
      billing: { rateCard: { "gpt-4o-mini": { input: 1, output: 2 }, "claude-x": { input: 1, output: 2 }, "embed-small": EMBED_RATES } },
    },
  });
});
afterAll(() => w.close());

const last = () => w.fake.requests[w.fake.requests.length - 1]!;

describe("embeddings", () => {
  test("openai SDK: one input (the SDK's default base64, decoded by it) and several (float)", async () => {
    const one = await w.client().embeddings.create({ model: "embed-small", input: "the quick brown fox", user: "u1" });
    expect(last().path).toBe("/v1/embeddings");
    expect(last().body.model).toBe("fake-embed");
    expect(last().body.user).toMatch(/^oc-/);
    expect(one.model).toBe("embed-small");
    expect(one.data).toHaveLength(1);
    expect(one.data[0]!.embedding).toHaveLength(8);
    expect(one.data[0]!.embedding.every((x) => typeof x === "number")).toBe(true);
    expect(one.usage.prompt_tokens).toBe(4);
    const row = ledgerRows(w.core).at(-1);
    expect(row.model).toBe("embed-small");
    expect(row.input_tokens).toBe(4);
    expect(row.output_tokens).toBe(0);
    expect(row.cost_micro_usd).toBe(4 * EMBED_RATES.input);
    expect(row.status).toBe("ok");

    const many = await w.client().embeddings.create({ model: "embed-small", input: ["a b", "c"], encoding_format: "float", dimensions: 4 });
    expect(many.data.map((d) => d.index)).toEqual([0, 1]);
    expect(many.data[0]!.embedding).toHaveLength(4);
    expect(ledgerRows(w.core).at(-1).input_tokens).toBe(3);
  });

  test("LangChain OpenAIEmbeddings: embedQuery and embedDocuments", async () => {
    const lc = new OpenAIEmbeddings({ model: "embed-small", apiKey: w.token, configuration: { baseURL: `${w.gw.url}/v1` }, maxRetries: 0 });
    const q = await lc.embedQuery("hello world");
    expect(q).toHaveLength(8);
    const docs = await lc.embedDocuments(["one", "two", "three"]);
    expect(docs).toHaveLength(3);
    expect(docs[0]).not.toEqual(docs[1]);
    // The same text embeds the same way through the gateway.
    expect(await lc.embedQuery("one")).toEqual(docs[0]!);
  });

  test("bad input is a 400 naming the field, with nothing sent", async () => {
    const before = w.fake.requests.length;
    for (const [body, param] of [
      [{ model: "embed-small", input: "" }, "input"],
      [{ model: "embed-small", input: [1, "x"] }, "input"],
      [{ model: "embed-small", input: "x", encoding_format: "int8" }, "encoding_format"],
      [{ model: "embed-small", input: "x", extra: 1 }, "extra"],
      [{ model: "claude-x", input: "x" }, "model"],
    ] as const) {
      const e = await errorOf(w.client().embeddings.create(body as any));
      expect(e.status).toBe(400);
      expect(e.error.param).toBe(param);
    }
    const nf = await errorOf(w.client().embeddings.create({ model: "nope", input: "x" }));
    expect(nf.status).toBe(404);
    expect(w.fake.requests.length).toBe(before);
  });

  test("quotas: admitted by the input bound; a tenant past its daily tokens is refused before anything is sent", async () => {
    const q = await chatWorld({ quota: { tokensPerDay: 200 }, config: { models: { "embed-small": { provider: "local", upstreamModel: "fake-embed" } }, billing: { rateCard: { "gpt-4o-mini": { input: 1, output: 2 }, "embed-small": EMBED_RATES } } } });
    try {
      const ok = await q.client().embeddings.create({ model: "embed-small", input: "x y" });
      expect(ok.usage.prompt_tokens).toBe(2);
      const before = q.fake.requests.length;
      const e = await errorOf(q.client().embeddings.create({ model: "embed-small", input: "word ".repeat(100) }));
      expect(e.status).toBe(429);
      expect(q.fake.requests.length).toBe(before);
      // Settled by the reported usage, not the bound.
      expect(ledgerRows(q.core).filter((r) => r.status === "ok").map((r) => r.total_tokens)).toEqual([2]);
    } finally {
      await q.close();
    }
  });

  test("a provider failure comes back in OpenAI's envelope and is ledgered as an error", async () => {
    const e = await errorOf(w.client().embeddings.create({ model: "embed-small", input: "boom [[error:503]]" }));
    expect(e.status).toBe(503);
    const row = ledgerRows(w.core).at(-1);
    expect(row.status).toBe("error");
    expect(row.cost_micro_usd).toBe(0);
  });
});
