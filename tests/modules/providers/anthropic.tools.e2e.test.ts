// A two-step tool conversation through the gateway with the official OpenAI SDK as the client and an
// anthropic-kind model behind it (the fake provider speaks Messages and refuses what Messages refuses):
// the SDK's own tool_calls message goes back with the tool's result, JSON and streaming; refusals come
// back as 400s naming the field with nothing sent; the bound reserved covers the tool history.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type OpenAI from "openai";
import { chatWorld, errorOf, ledgerRows, type ChatWorld } from "../../helpers/chat.ts";
import { TOOLS_TOKEN_BOUND } from "../../../src/modules/chat/chat.model.ts";
import { FRAMING } from "../../../src/modules/providers/anthropic.tools.ts";

type Msg = OpenAI.Chat.Completions.ChatCompletionMessageParam;
const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  { type: "function", function: { name: "get_weather", description: "Weather by city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } },
  { type: "function", function: { name: "get_time", parameters: { type: "object", properties: {} } } },
];
const anthropicTools = [
  { name: "get_weather", description: "Weather by city", input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
  { name: "get_time", input_schema: { type: "object", properties: {} } },
];

let w: ChatWorld;
beforeAll(async () => {
  w = await chatWorld();
});
afterAll(() => w.close());

const upstream = () => w.fake.requests[w.fake.requests.length - 1]!;

describe("a two-step tool conversation, OpenAI SDK → gateway → Anthropic Messages", () => {
  test("JSON: the model calls get_weather, the SDK's message and the tool result go back, the model answers", async () => {
    const client = w.client();
    const messages: Msg[] = [{ role: "system", content: "be brief" }, { role: "user", content: "weather in Paris? [[tools]]" }];
    const first = await client.chat.completions.create({ model: "claude-x", messages, tools, tool_choice: "auto", parallel_tool_calls: false });
    expect(upstream().path).toBe("/v1/messages");
    expect(upstream().body).toMatchObject({ system: "be brief", tools: anthropicTools, tool_choice: { type: "auto", disable_parallel_tool_use: true } });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBe("Checking.");
    expect(choice.message.tool_calls).toEqual([{ id: "toolu_fake1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }]);

    const call = choice.message.tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    messages.push(choice.message, { role: "tool", tool_call_id: call.id, content: `18°C in ${JSON.parse(call.function.arguments).city}` });
    const second = await client.chat.completions.create({ model: "claude-x", messages: [...messages], tools });
    expect(second.choices[0]!.finish_reason).toBe("stop");
    expect(second.choices[0]!.message).toMatchObject({ role: "assistant", content: "w0 w1 w2 w3 w4" });
    expect(second.choices[0]!.message.tool_calls).toBeUndefined();
    expect(upstream().body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "weather in Paris? [[tools]]" }] },
      { role: "assistant", content: [{ type: "text", text: "Checking." }, { type: "tool_use", id: "toolu_fake1", name: "get_weather", input: { city: "Paris" } }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_fake1", content: "18°C in Paris" }] },
    ]);
    expect(upstream().body.tool_choice).toBeUndefined();
  });

  test("streaming: the call arrives as delta.tool_calls (index, id and name first, then argument fragments), then the answer streams", async () => {
    const client = w.client();
    const messages: Msg[] = [{ role: "user", content: "weather? [[tools]]" }];
    const s1 = await client.chat.completions.create({ model: "claude-x", messages, tools, tool_choice: { type: "function", function: { name: "get_weather" } }, stream: true });
    expect(upstream().body).toMatchObject({ stream: true, tool_choice: { type: "tool", name: "get_weather" } });
    const calls: { id?: string; name?: string; args: string }[] = [];
    const firsts: unknown[] = [];
    let text = "";
    let finish: string | null = null;
    for await (const c of s1) {
      text += c.choices[0]?.delta?.content ?? "";
      for (const tc of c.choices[0]?.delta?.tool_calls ?? []) {
        if (!calls[tc.index]) {
          calls[tc.index] = { id: tc.id, name: tc.function?.name, args: "" };
          firsts.push(tc);
        }
        calls[tc.index]!.args += tc.function?.arguments ?? "";
      }
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(firsts).toEqual([{ index: 0, id: "toolu_fake1", type: "function", function: { name: "get_weather", arguments: "" } }]);
    expect({ text, calls, finish }).toEqual({ text: "Checking.", calls: [{ id: "toolu_fake1", name: "get_weather", args: '{"city":"Paris"}' }], finish: "tool_calls" });

    messages.push({ role: "assistant", content: text, tool_calls: calls.map((c) => ({ id: c.id!, type: "function" as const, function: { name: c.name!, arguments: c.args } })) });
    messages.push({ role: "tool", tool_call_id: calls[0]!.id!, content: "rain" });
    const s2 = await client.chat.completions.create({ model: "claude-x", messages, tools, stream: true });
    let answer = "";
    let finish2: string | null = null;
    for await (const c of s2) {
      answer += c.choices[0]?.delta?.content ?? "";
      expect(c.choices[0]?.delta?.tool_calls).toBeUndefined();
      finish2 = c.choices[0]?.finish_reason ?? finish2;
    }
    expect({ answer, finish2 }).toEqual({ answer: "w0 w1 w2 w3 w4", finish2: "stop" });
    expect(upstream().body.messages.slice(1)).toEqual([
      { role: "assistant", content: [{ type: "text", text: "Checking." }, { type: "tool_use", id: "toolu_fake1", name: "get_weather", input: { city: "Paris" } }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_fake1", content: "rain" }] },
    ]);
  });

  test.each([
    ["arguments that are not JSON", [{ role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "get_time", arguments: "{oops" } }] }, { role: "tool", tool_call_id: "c1", content: "x" }], "messages[1].tool_calls[0].function.arguments"],
    ["a tool name Messages refuses", [{ role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "get.time", arguments: "{}" } }] }, { role: "tool", tool_call_id: "c1", content: "x" }], "messages[1].tool_calls[0].function.name"],
    ["a tool result that answers no call", [{ role: "tool", tool_call_id: "c1", content: "x" }], "messages[1].tool_call_id"],
    ["a call left without its result", [{ role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "get_time", arguments: "{}" } }] }, { role: "user", content: "well?" }], "messages[1].tool_calls"],
  ])("refuses %s: a 400 the SDK reports with its param, nothing sent, nothing charged", async (_what, rest, param) => {
    const sent = w.fake.requests.length;
    const rows = ledgerRows(w.core).length;
    const err = await errorOf(w.client().chat.completions.create({ model: "claude-x", tools, messages: [{ role: "user", content: "hi" }, ...(rest as Msg[])] }));
    expect({ status: err.status, type: err.type, param: err.param }).toEqual({ status: 400, type: "invalid_request_error", param });
    expect(w.fake.requests.length).toBe(sent);
    expect(ledgerRows(w.core).length).toBe(rows); // refused before admission: nothing reserved or charged
  });

  test("the input bound reserved covers the translated tool history: its bytes plus the framing allowances", async () => {
    const messages: Msg[] = [
      { role: "user", content: "hi" },
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "get_weather", arguments: JSON.stringify(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, i]))) } }, { id: "c2", type: "function", function: { name: "get_time", arguments: "" } }] },
      { role: "tool", tool_call_id: "c1", content: "r".repeat(20_000) },
      { role: "tool", tool_call_id: "c2", content: "noon" },
    ];
    await w.client().chat.completions.create({ model: "claude-x", messages, tools });
    const sentBytes = Buffer.byteLength(JSON.stringify(upstream().body));
    const framing = 2 * FRAMING.tool + 2 * FRAMING.toolUse + 30 * FRAMING.inputKey + 2 * FRAMING.toolResult;
    expect(framing).toBeGreaterThan(TOOLS_TOKEN_BOUND + 16); // more than the flat allowances alone would cover
    expect(sentBytes).toBeGreaterThan(20_000);
    expect(ledgerRows(w.core).at(-1).input_bound).toBeGreaterThanOrEqual(sentBytes + framing);
  });
});

describe("a 5,000-token/day tenant", () => {
  let small: ChatWorld;
  beforeAll(async () => {
    small = await chatWorld({ quota: { tokensPerDay: 5_000 } });
  });
  const call = (args: string) => ({ role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: args } }] });
  const body = (rest: unknown[]) => ({ model: "claude-x", max_tokens: 10, tools: [{ type: "function", function: { name: "f" } }], messages: [{ role: "user", content: "hi" }, ...rest] });

  test("control: a small tool conversation is admitted", async () => {
    const res = await small.post(body([call('{"a":0}'), { role: "tool", tool_call_id: "c1", content: "ok" }]));
    expect(res.status).toBe(200);
  });
  afterAll(() => small.close());

  const pad = "lorem ".repeat(70_000);
  test.each([
    ["a tool result", [call("{}"), { role: "tool", tool_call_id: "c1", content: pad }]],
    ["a tool call's input", [call(JSON.stringify({ a: pad })), { role: "tool", tool_call_id: "c1", content: "ok" }]],
    // ~2k bytes that the provider frames as ~200 tagged parameters (see the framing allowance).
    ["a tool call with many small keys", [call(JSON.stringify(Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, 0])))), { role: "tool", tool_call_id: "c1", content: "ok" }]],
  ])("cannot get %s past admission on an anthropic model (429, nothing sent)", async (_what, rest) => {
    const before = small.fake.requests.length;
    const res = await small.post(body(rest));
    const json = (await res.json()) as any;
    expect({ status: res.status, code: json.error?.code }).toEqual({ status: 429, code: "insufficient_quota" });
    expect(small.fake.requests.length).toBe(before);
  });
});

describe("the fake provider holds the translation to Messages' rules", () => {
  test.each([
    ["a tool_use without its tool_result", [{ role: "user", content: "x" }, { role: "assistant", content: [{ type: "tool_use", id: "a", name: "f", input: {} }] }, { role: "user", content: "y" }]],
    ["a tool_result after text", [{ role: "user", content: "x" }, { role: "assistant", content: [{ type: "tool_use", id: "a", name: "f", input: {} }] }, { role: "user", content: [{ type: "text", text: "y" }, { type: "tool_result", tool_use_id: "a", content: "" }] }]],
    ["two user turns in a row", [{ role: "user", content: "x" }, { role: "user", content: "y" }]],
    ["a tool_use id with a dot", [{ role: "user", content: "x" }, { role: "assistant", content: [{ type: "tool_use", id: "a.b", name: "f", input: {} }] }, { role: "user", content: [{ type: "tool_result", tool_use_id: "a.b", content: "" }] }]],
  ])("refuses %s with 400", async (_what, messages) => {
    const res = await fetch(`${w.fake.url}/v1/messages`, { method: "POST", body: JSON.stringify({ model: "m", max_tokens: 5, tools: [{ name: "f", input_schema: { type: "object" } }], messages }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.type).toBe("invalid_request_error");
  });
});
