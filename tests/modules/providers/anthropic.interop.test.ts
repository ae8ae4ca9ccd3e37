// Issue 15 §7: the OpenAI → Anthropic translation dropped response_format, reasoning_effort and
// cache_control. Now every chat field is translated or refused naming it — the pure translator itself
// refuses what it does not carry (whatever vetted the body before), and the three are translated:
// response_format → a forced tool whose input is the answer's text, reasoning_effort → a thinking
// budget, cache_control → carried as is and its cache reads and writes priced from the rate card.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AnthropicStreamTranslator, fromAnthropicResponse, JSON_TOOL, toAnthropicRequest } from "../../../src/modules/providers/anthropic.translate.ts";
import { priceMicroUsd } from "../../../src/modules/usage/pricing.ts";
import { chatWorld, ledgerRows, RATES, type ChatWorld } from "../../helpers/chat.ts";

const user = [{ role: "user", content: "hi" }];
const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };

describe("toAnthropicRequest never drops a field", () => {
  test.each([
    ["seed", 7],
    ["logprobs", true],
    ["presence_penalty", 0.1],
    ["x_custom", 1],
  ])("%s is refused, naming it", (field, value) => {
    expect(() => toAnthropicRequest({ messages: user, [field]: value }, "m", 100)).toThrow(`${field}: `);
  });

  test("unknown keys of messages and parts are refused, naming them", () => {
    expect(() => toAnthropicRequest({ messages: [{ role: "user", content: "x", name: "bob" }] }, "m", 100)).toThrow("messages[0].name");
    expect(() => toAnthropicRequest({ messages: [{ role: "user", content: [{ type: "text", text: "x", extra: 1 }] }] }, "m", 100)).toThrow("messages[0].content[0].extra");
    expect(() => toAnthropicRequest({ messages: [{ role: "user", content: [{ type: "text", text: "x", cache_control: { type: "ephemeral", ttl: "1h" } }] }] }, "m", 100)).toThrow("messages[0].content[0].cache_control.ttl");
  });

  test("response_format json_schema → a forced tool with the schema", () => {
    const req = toAnthropicRequest({ messages: user, response_format: { type: "json_schema", json_schema: { name: "city_answer", description: "the city", schema, strict: true } } }, "m", 100);
    expect(req.tools).toEqual([{ name: "city_answer", description: "the city", input_schema: schema }]);
    expect(req.tool_choice).toEqual({ type: "tool", name: "city_answer" });
    const obj = toAnthropicRequest({ messages: user, response_format: { type: "json_object" } }, "m", 100);
    expect(obj.tool_choice).toEqual({ type: "tool", name: JSON_TOOL });
    expect(toAnthropicRequest({ messages: user, response_format: { type: "text" } }, "m", 100).tools).toBeUndefined();
    expect(() => toAnthropicRequest({ messages: user, response_format: { type: "json_schema", json_schema: { name: "s", schema: { type: "array" } } } }, "m", 100)).toThrow("response_format.json_schema.schema");
    const tools = [{ type: "function", function: { name: "f", parameters: { type: "object" } } }];
    expect(() => toAnthropicRequest({ messages: user, tools, response_format: { type: "json_object" } }, "m", 100)).toThrow("response_format: ");
  });

  test("reasoning_effort → a thinking budget below the output cap", () => {
    expect(toAnthropicRequest({ messages: user, reasoning_effort: "low" }, "m", 8000).thinking).toEqual({ type: "enabled", budget_tokens: 1024 });
    expect(toAnthropicRequest({ messages: user, reasoning_effort: "medium" }, "m", 8000).thinking).toEqual({ type: "enabled", budget_tokens: 4096 });
    expect(toAnthropicRequest({ messages: user, reasoning_effort: "high" }, "m", 8000).thinking).toEqual({ type: "enabled", budget_tokens: 7999 });
    expect(toAnthropicRequest({ messages: user, reasoning_effort: "minimal" }, "m", 8000).thinking).toBeUndefined();
    expect(() => toAnthropicRequest({ messages: user, reasoning_effort: "low" }, "m", 1000)).toThrow("reasoning_effort: ");
    expect(() => toAnthropicRequest({ messages: user, reasoning_effort: "low", temperature: 0.2 }, "m", 8000)).toThrow("temperature: ");
    expect(() => toAnthropicRequest({ messages: user, reasoning_effort: "extreme" }, "m", 8000)).toThrow("reasoning_effort: ");
  });

  test("cache_control is carried on system, user, assistant and tool text", () => {
    const cc = { type: "ephemeral" };
    const req = toAnthropicRequest(
      {
        messages: [
          { role: "system", content: [{ type: "text", text: "sys", cache_control: cc }] },
          { role: "user", content: [{ type: "text", text: "q", cache_control: cc }] },
          { role: "assistant", content: [{ type: "text", text: "a", cache_control: cc }], tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] },
          { role: "tool", tool_call_id: "c1", content: [{ type: "text", text: "r", cache_control: cc }] },
        ],
      },
      "m",
      100,
    );
    expect(req.system).toEqual([{ type: "text", text: "sys", cache_control: cc }]);
    expect((req.messages as any)[0].content).toEqual([{ type: "text", text: "q", cache_control: cc }]);
    expect((req.messages as any)[1].content[0]).toEqual({ type: "text", text: "a", cache_control: cc });
    expect((req.messages as any)[2].content[0]).toEqual({ type: "tool_result", tool_use_id: "c1", content: "r", cache_control: cc });
    // Without marks the system prompt stays a string, as before.
    expect(toAnthropicRequest({ messages: [{ role: "system", content: "s" }, ...user] }, "m", 100).system).toBe("s");
  });

  test("the forced tool's input comes back as the message text (JSON and stream)", () => {
    const msg = { id: "msg_1", content: [{ type: "tool_use", id: "toolu_1", name: "city_answer", input: { city: "Paris" } }], stop_reason: "tool_use", usage: { input_tokens: 5, output_tokens: 7 } };
    const { body } = fromAnthropicResponse(msg, "claude-x", 1, "city_answer");
    expect((body.choices as any)[0]).toMatchObject({ message: { content: '{"city":"Paris"}' }, finish_reason: "stop" });
    expect((body.choices as any)[0].message.tool_calls).toBeUndefined();
    const t = new AnthropicStreamTranslator("claude-x", 1, "city_answer");
    const out = [
      t.feed("message_start", { message: { id: "msg_1", usage: { input_tokens: 5 } } }),
      t.feed("content_block_start", { index: 0, content_block: { type: "tool_use", id: "toolu_1", name: "city_answer", input: {} } }),
      t.feed("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: '{"city":' } }),
      t.feed("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: '"Paris"}' } }),
      t.feed("content_block_stop", { index: 0 }),
      t.feed("message_delta", { delta: { stop_reason: "tool_use" }, usage: { output_tokens: 7 } }),
      t.feed("message_stop", {}),
    ].flat();
    expect(out.map((c: any) => c.choices[0].delta.content ?? null).filter((x) => x !== null).join("")).toBe('{"city":"Paris"}');
    expect(out.some((c: any) => c.choices[0].delta.tool_calls)).toBe(false);
    expect((out.at(-1) as any).choices[0].finish_reason).toBe("stop");
  });
});

describe("through the gateway, OpenAI SDK → claude-x", () => {
  let w: ChatWorld;
  beforeAll(async () => {
    w = await chatWorld();
  });
  afterAll(() => w.close());
  const upstream = () => w.fake.requests.at(-1)!.body;

  test("response_format json_schema answers JSON text, JSON and streamed", async () => {
    const response_format = { type: "json_schema" as const, json_schema: { name: "city_answer", schema } };
    w.fake.script("rf-json", [{ toolCalls: [{ id: "toolu_a", name: "city_answer", arguments: { city: "Paris" } }] }]);
    const res = await w.client().chat.completions.create({ model: "claude-x", messages: [{ role: "user", content: "rf-json which city?" }], response_format });
    expect(res.choices[0]!.message.content).toBe('{"city":"Paris"}');
    expect(res.choices[0]!.finish_reason).toBe("stop");
    expect(upstream().tool_choice).toEqual({ type: "tool", name: "city_answer" });
    w.fake.script("rf-stream", [{ toolCalls: [{ id: "toolu_b", name: "city_answer", arguments: { city: "Lyon" } }] }]);
    let text = "";
    let finish: string | null = null;
    for await (const c of await w.client().chat.completions.create({ model: "claude-x", stream: true, messages: [{ role: "user", content: "rf-stream which city?" }], response_format })) {
      text += c.choices[0]?.delta.content ?? "";
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(JSON.parse(text)).toEqual({ city: "Lyon" });
    expect(finish).toBe("stop");
  });

  test("reasoning_effort reaches the provider as a thinking budget", async () => {
    const res = await w.client().chat.completions.create({ model: "claude-x", max_completion_tokens: 3000, messages: [{ role: "user", content: "think [[words:2]]" }], reasoning_effort: "medium" });
    expect(res.choices[0]!.message.content).toBe("w0 w1");
    expect(upstream().thinking).toEqual({ type: "enabled", budget_tokens: 2999 });
  });

  test("cache_control reaches the provider, and the cache reads and writes are priced from the rate card", async () => {
    const cc = { type: "ephemeral" };
    const res = await w.post({ model: "claude-x", messages: [{ role: "system", content: [{ type: "text", text: "long prompt", cache_control: cc }] }, { role: "user", content: [{ type: "text", text: "q [[words:2]] [[cache:300:50]]", cache_control: cc }] }] });
    expect(res.status).toBe(200);
    expect(upstream().system).toEqual([{ type: "text", text: "long prompt", cache_control: cc }]);
    expect(upstream().messages[0].content[0].cache_control).toEqual(cc);
    const row = ledgerRows(w.core).at(-1);
    expect({ read: row.cache_read_tokens, write: row.cache_write_tokens }).toEqual({ read: 300, write: 50 });
    expect(row.cost_micro_usd).toBe(priceMicroUsd({ inputTokens: row.input_tokens, outputTokens: 2, cacheReadTokens: 300, cacheWriteTokens: 50, reasoningTokens: 0 }, RATES));
  });

  test("a thinking budget that no longer fits the cap the quota clamped to is refused, and its reservation released", async () => {
    const q = await chatWorld({ quota: { tokensPerDay: 1100, maxConcurrent: 1 } });
    try {
      const body = { model: "claude-x", max_completion_tokens: 3000, messages: [{ role: "user", content: "think" }], reasoning_effort: "low" };
      const res = await q.post(body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).error.param).toBe("reasoning_effort");
      // Nothing is left in flight or reserved: the next request is admitted with the whole quota.
      expect(q.core.quotaEngine.snapshot({ tenantId: "acme" } as never)).toMatchObject({ reservedTokens: 0, usedTokensToday: 0 });
      const ok = await q.post({ model: "claude-x", max_completion_tokens: 20, messages: [{ role: "user", content: "hi [[words:1]]" }] });
      expect(ok.status).toBe(200);
    } finally {
      await q.close();
    }
  });

  test("on an openai-kind model cache_control is still refused, naming it", async () => {
    const res = await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: [{ type: "text", text: "q", cache_control: { type: "ephemeral" } }] }] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.param).toBe("messages[0].content[0].cache_control");
  });
});
