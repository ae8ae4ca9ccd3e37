// The gemini, azure-openai and bedrock kinds end to end: the official OpenAI SDK calls
// /v1/chat/completions on the gateway, which routes to a stand-in speaking each provider's own wire
// format (tests/fake-provider/gemini.ts, azure.ts, bedrock.ts — each refuses what the real service
// refuses, and checks the credential the way it does). JSON and streams, tool conversations, usage
// metered into the ledger at the rate card, provider failures mapped, unsupported fields refused
// before anything is sent.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type OpenAI from "openai";
import { chatWorld, errorOf, ledgerRows, RATES, type ChatWorld } from "../../helpers/chat.ts";
import { startAzureFake } from "../../fake-provider/azure.ts";
import { startBedrockFake } from "../../fake-provider/bedrock.ts";
import { startGeminiFake } from "../../fake-provider/gemini.ts";
import type { StandIn } from "../../fake-provider/stand-in.ts";

const AWS = { accessKeyId: "AKIDGATEWAY", secretAccessKey: "gateway-secret", sessionToken: "session-token-1", region: "eu-west-3" };
let w: ChatWorld;
let gemini: StandIn;
let azure: StandIn;
let bedrock: StandIn;

const price = (u: { input: number; output: number; cacheRead?: number; reasoning?: number }) =>
  Math.round((u.input - (u.cacheRead ?? 0)) * RATES.input + (u.cacheRead ?? 0) * RATES.cacheRead + (u.output - (u.reasoning ?? 0)) * RATES.output + (u.reasoning ?? 0) * RATES.reasoning);

beforeAll(async () => {
  gemini = startGeminiFake({ apiKey: "goog-key" });
  azure = startAzureFake({ apiKey: "azure-key", apiVersion: "2024-10-21" });
  bedrock = startBedrockFake(AWS);
  w = await chatWorld({
    config: {
      providers: {
        gem: { kind: "gemini", baseUrl: `${gemini.url}/v1beta`, apiKey: "goog-key", timeoutMs: 5_000 },
        az: { kind: "azure-openai", baseUrl: azure.url, apiKey: "azure-key", apiVersion: "2024-10-21", timeoutMs: 5_000 },
        br: { kind: "bedrock", baseUrl: bedrock.url, ...AWS, headers: { "x-operator-tag": "t1" }, timeoutMs: 5_000 },
        brQuick: { kind: "bedrock", baseUrl: bedrock.url, ...AWS, timeoutMs: 300 },
        brBadKey: { kind: "bedrock", baseUrl: bedrock.url, ...AWS, secretAccessKey: "not-the-secret", timeoutMs: 5_000 },
      },
      models: {
        "gem-flash": { provider: "gem", upstreamModel: "gemini-2.5-flash" },
        "az-4o": { provider: "az", upstreamModel: "my-gpt4o-deployment" },
        "br-claude": { provider: "br", upstreamModel: "anthropic.claude-3-haiku-20240307-v1:0" },
        "br-bad": { provider: "brBadKey", upstreamModel: "amazon.nova-lite-v1:0" },
        "br-quick": { provider: "brQuick", upstreamModel: "amazon.nova-lite-v1:0" },
      },
      billing: { rateCard: { "gpt-4o-mini": RATES, "claude-x": RATES, "gem-flash": RATES, "az-4o": RATES, "br-claude": RATES, "br-bad": RATES, "br-quick": RATES } },
    },
  });
});
afterAll(async () => {
  await w.close();
  for (const s of [gemini, azure, bedrock]) s.stop();
});

const KINDS = [
  { model: "gem-flash", provider: "gem", upstream: "gemini-2.5-flash", fake: () => gemini },
  { model: "az-4o", provider: "az", upstream: "my-gpt4o-deployment", fake: () => azure },
  { model: "br-claude", provider: "br", upstream: "anthropic.claude-3-haiku-20240307-v1:0", fake: () => bedrock },
] as const;

const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [{ type: "function", function: { name: "get_weather", description: "Weather by city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }];

describe.each(KINDS)("kind of $provider through /v1/chat/completions", (k) => {
  test("JSON: the answer in OpenAI's shape under the public model name, metered into the ledger at the rate card", async () => {
    const before = k.fake().requests.length;
    const res = await w.client().chat.completions.create({ model: k.model, messages: [{ role: "system", content: "be brief" }, { role: "user", content: "say it [[words:4]]" }], max_tokens: 50 });
    expect(k.fake().requests.length).toBe(before + 1);
    expect(res.model).toBe(k.model);
    expect(res.choices[0]!.message.content).toBe("w0 w1 w2 w3");
    expect(res.choices[0]!.finish_reason).toBe("stop");
    const row = ledgerRows(w.core).at(-1);
    expect(row).toMatchObject({ model: k.model, provider: k.provider, upstream_model: k.upstream, status: "ok", http_status: 200, stream: 0, input_tokens: res.usage!.prompt_tokens, output_tokens: 4 });
    expect(res.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(row.cost_micro_usd).toBe(price({ input: res.usage!.prompt_tokens, output: 4 }));
  });

  test("stream: deltas, the finish, the usage chunk when asked; metered from the provider's closing usage", async () => {
    const stream = await w.client().chat.completions.create({ model: k.model, messages: [{ role: "user", content: "stream [[words:6]]" }], stream: true, stream_options: { include_usage: true } });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const c of stream) {
      expect(c.model).toBe(k.model);
      text += c.choices[0]?.delta?.content ?? "";
      finish = c.choices[0]?.finish_reason ?? finish;
      if (c.usage) usage = c.usage;
    }
    expect({ text, finish }).toEqual({ text: "w0 w1 w2 w3 w4 w5", finish: "stop" });
    expect(usage!.completion_tokens).toBe(6);
    const row = ledgerRows(w.core).at(-1);
    expect(row).toMatchObject({ model: k.model, status: "ok", stream: 1, error_code: null, input_tokens: usage!.prompt_tokens, output_tokens: 6 });
    expect(row.cost_micro_usd).toBe(price({ input: usage!.prompt_tokens, output: 6 }));
  });

  test("a two-step tool conversation: the SDK's own tool_calls message and the tool result go back", async () => {
    const client = w.client();
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: "user", content: "weather in Paris? [[tools]]" }];
    const first = await client.chat.completions.create({ model: k.model, messages, tools });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    const call = choice.message.tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(call.function).toEqual({ name: "get_weather", arguments: '{"city":"Paris"}' });
    messages.push(choice.message, { role: "tool", tool_call_id: call.id, content: "18°C" }, { role: "user", content: "so? [[words:5]]" });
    const second = await client.chat.completions.create({ model: k.model, messages, tools });
    expect(second.choices[0]!.message.content).toBe("w0 w1 w2 w3 w4");

    const s = await client.chat.completions.create({ model: k.model, messages: [{ role: "user", content: "again [[tools]]" }], tools, stream: true });
    let args = "";
    let name: string | undefined;
    for await (const c of s) for (const tc of c.choices[0]?.delta?.tool_calls ?? []) (name ??= tc.function?.name), (args += tc.function?.arguments ?? "");
    expect({ name, args: JSON.parse(args) }).toEqual({ name: "get_weather", args: { city: "Paris" } });
  });

  test("provider failures map like the other kinds': 429 with Retry-After, 400 with the provider's message; nothing charged", async () => {
    const limited = await errorOf(w.client().chat.completions.create({ model: k.model, messages: [{ role: "user", content: "[[error:429]]" }] }));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBeTruthy();
    const refused = await errorOf(w.client().chat.completions.create({ model: k.model, messages: [{ role: "user", content: "[[error:400]]" }] }));
    expect(refused.status).toBe(400);
    expect(refused.message).toContain("fake provider error 400");
    expect(ledgerRows(w.core).at(-1)).toMatchObject({ status: "error", cost_micro_usd: 0 });
  });

  test("a stream the provider breaks ends with an error event and is charged its input bound", async () => {
    const res = await w.post({ model: k.model, messages: [{ role: "user", content: "[[words:5]] [[midstream-fail]]" }], stream: true });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain('"error"');
    const row = ledgerRows(w.core).at(-1);
    expect(row.status).toBe("error");
    expect(row.input_tokens).toBe(row.input_bound);
  });
});

describe("what each kind cannot take is refused before anything is sent", () => {
  test.each([
    ["gem-flash", { logprobs: true }, "logprobs", () => gemini],
    ["gem-flash", { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/a.png" } }] }] }, "messages[0].content[0].image_url.url", () => gemini],
    ["br-claude", { seed: 1 }, "seed", () => bedrock],
    ["br-claude", { response_format: { type: "json_object" } }, "response_format", () => bedrock],
    ["br-claude", { n: 2 }, "n", () => bedrock],
    ["az-4o", { store: true }, "store", () => azure],
  ] as const)("%s with %j → 400 naming %s", async (model, extra, param, fakeOf) => {
    const fake = fakeOf();
    const before = fake.requests.length;
    const res = await w.post({ model, messages: [{ role: "user", content: "hi" }], ...extra });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.param).toBe(param);
    expect(fake.requests.length).toBe(before);
  });
});

describe("each wire format as the provider expects it", () => {
  test("gemini: the model in the URL, the key in x-goog-api-key, thinking tokens priced as reasoning", async () => {
    const res = await w.client().chat.completions.create({ model: "gem-flash", messages: [{ role: "user", content: "think [[words:3]] [[thoughts:7]]" }], max_completion_tokens: 40, temperature: 0.5 });
    const up = gemini.last();
    expect(up.path).toBe("/v1beta/models/gemini-2.5-flash:generateContent");
    expect(up.headers["x-goog-api-key"]).toBe("goog-key");
    expect(up.headers.authorization).toBeUndefined();
    expect(up.body.generationConfig).toEqual({ maxOutputTokens: 40, temperature: 0.5 });
    expect(res.usage).toMatchObject({ completion_tokens: 10, completion_tokens_details: { reasoning_tokens: 7 } });
    const row = ledgerRows(w.core).at(-1);
    expect(row).toMatchObject({ output_tokens: 10, reasoning_tokens: 7 });
    expect(row.cost_micro_usd).toBe(price({ input: res.usage!.prompt_tokens, output: 10, reasoning: 7 }));

    for await (const _ of await w.client().chat.completions.create({ model: "gem-flash", messages: [{ role: "user", content: "s" }], stream: true }));
    expect(gemini.last().path).toBe("/v1beta/models/gemini-2.5-flash:streamGenerateContent");
    expect(gemini.last().query.get("alt")).toBe("sse");
  });

  test("gemini: n candidates become n choices; a blocked prompt an empty content_filter answer", async () => {
    const two = await w.client().chat.completions.create({ model: "gem-flash", messages: [{ role: "user", content: "[[words:2]]" }], n: 2 });
    expect(two.choices.map((c) => [c.index, c.message.content])).toEqual([[0, "w0 w1"], [1, "w0 w1"]]);
    expect(gemini.last().body.generationConfig.candidateCount).toBe(2);
    const blocked = await w.client().chat.completions.create({ model: "gem-flash", messages: [{ role: "user", content: "[[blocked]]" }] });
    expect(blocked.choices[0]).toMatchObject({ finish_reason: "content_filter", message: { content: "" } });
  });

  test("azure-openai: the deployment URL with api-version, the key in api-key (no Bearer), the content-filter preamble tolerated", async () => {
    const res = await w.client().chat.completions.create({ model: "az-4o", messages: [{ role: "user", content: "[[words:2]]" }] });
    expect(res.choices[0]!.message.content).toBe("w0 w1");
    const up = azure.last();
    expect(up.path).toBe("/openai/deployments/my-gpt4o-deployment/chat/completions");
    expect(up.query.get("api-version")).toBe("2024-10-21");
    expect(up.headers["api-key"]).toBe("azure-key");
    expect(up.headers.authorization).toBeUndefined();
    // The opaque per-tenant user, as for kind openai.
    expect(up.body.user).toMatch(/^oc-/);
  });

  test("bedrock: SigV4-signed with the configured keys for the region, the model id in the path", async () => {
    await w.client().chat.completions.create({ model: "br-claude", messages: [{ role: "user", content: "hi" }] });
    const up = bedrock.last();
    expect(up.path).toBe("/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse");
    expect(up.headers.authorization).toStartWith(`AWS4-HMAC-SHA256 Credential=${AWS.accessKeyId}/`);
    expect(up.headers.authorization).toContain(`/${AWS.region}/bedrock/aws4_request`);
    expect(up.headers["x-amz-security-token"]).toBe(AWS.sessionToken);
    // The operator's headers are added before signing: signed, so a proxy cannot alter them.
    expect(up.headers["x-operator-tag"]).toBe("t1");
    expect(up.headers.authorization).toMatch(/SignedHeaders=[^,]*x-operator-tag/);
    // The stand-in recomputed the signature: a wrong secret is refused as AWS refuses it.
    const bad = await errorOf(w.client().chat.completions.create({ model: "br-bad", messages: [{ role: "user", content: "hi" }] }));
    expect(bad.status).toBe(502);
    expect(bad.message).toContain("refused the gateway's credentials (403)");
  });

  test("bedrock: the provider's timeoutMs bounds the SDK call (before the answer and between stream events)", async () => {
    const silent = await errorOf(w.client().chat.completions.create({ model: "br-quick", messages: [{ role: "user", content: "[[hang]]" }] }));
    expect(silent.status).toBe(504);
    expect(ledgerRows(w.core).at(-1)).toMatchObject({ model: "br-quick", status: "error", error_code: "UPSTREAM_TIMEOUT" });
    const res = await w.post({ model: "br-quick", messages: [{ role: "user", content: "[[words:3]] [[slow:1000]]" }], stream: true });
    const text = await res.text();
    expect(text).toContain('"code":"upstream_timeout"');
    expect(bedrock.last().aborted).toBe(true);
  });
});
