// Tool calling through the chat completions ⇄ Anthropic Messages translation: tools and tool_choice,
// a tool history (calls, merged results), what Messages would refuse (refused here, naming the
// client's field), JSON and stream answers with tool calls, and the input bound over tool structures.
import { describe, expect, test } from "bun:test";
import { inputTokenBound } from "../../../src/modules/chat/chat.model.ts";
import { prepareAnthropic } from "../../../src/modules/providers/anthropic.provider.ts";
import { FRAMING, framingTokens, MAX_TOOL_CALLS, MAX_TOOLS } from "../../../src/modules/providers/anthropic.tools.ts";
import { AnthropicStreamTranslator, fromAnthropicResponse, toAnthropicRequest } from "../../../src/modules/providers/anthropic.translate.ts";

type J = Record<string, any>;
const weather = { type: "function", function: { name: "get_weather", description: "Weather by city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };
const time = { type: "function", function: { name: "get_time" } };
const ask = { role: "user", content: "weather?" };
const call = (id: string, name: string, args: string) => ({ id, type: "function", function: { name, arguments: args } });
const tr = (body: J): J => toAnthropicRequest(body, "claude-up", 100);

function refusal(body: J): { code?: string; param?: string; message?: string } {
  try {
    tr(body);
  } catch (e: any) {
    return { code: e.code, param: e.details?.param, message: e.message };
  }
  return {};
}

describe("request: tools and tool_choice", () => {
  test("tools become name/description/input_schema (an absent schema is an empty object schema)", () => {
    expect(tr({ messages: [ask], tools: [weather, time] }).tools).toEqual([
      { name: "get_weather", description: "Weather by city", input_schema: weather.function.parameters },
      { name: "get_time", input_schema: { type: "object", properties: {} } },
    ]);
  });

  test.each([
    ["auto", undefined, { type: "auto" }],
    ["none", undefined, { type: "none" }],
    ["required", undefined, { type: "any" }],
    [{ type: "function", function: { name: "get_time" } }, undefined, { type: "tool", name: "get_time" }],
    [undefined, undefined, undefined],
    [undefined, true, undefined],
    [undefined, false, { type: "auto", disable_parallel_tool_use: true }],
    ["auto", false, { type: "auto", disable_parallel_tool_use: true }],
    ["required", false, { type: "any", disable_parallel_tool_use: true }],
    [{ type: "function", function: { name: "get_weather" } }, false, { type: "tool", name: "get_weather", disable_parallel_tool_use: true }],
    // Messages' "none" takes no parallel switch (no call is made at all).
    ["none", false, { type: "none" }],
  ])("tool_choice %j with parallel_tool_calls %j → %j", (choice, parallel, expected) => {
    const req = tr({ messages: [ask], tools: [weather, time], ...(choice === undefined ? {} : { tool_choice: choice }), ...(parallel === undefined ? {} : { parallel_tool_calls: parallel }) });
    expect(req.tool_choice).toEqual(expected);
  });

  test('without tools, "auto", "none" and parallel_tool_calls send nothing (Messages refuses a tool_choice without tools)', () => {
    for (const extra of [{ tool_choice: "auto" }, { tool_choice: "none" }, { parallel_tool_calls: false }, { tools: [], tool_choice: "none" }]) {
      const req = tr({ messages: [ask], ...extra });
      expect({ tools: req.tools, tool_choice: req.tool_choice }).toEqual({ tools: undefined, tool_choice: undefined });
    }
  });

  test.each([
    ["required without tools", { tool_choice: "required" }, "tool_choice"],
    ["a named tool without tools", { tool_choice: { type: "function", function: { name: "get_weather" } } }, "tool_choice"],
    ["a named tool not among the tools", { tools: [weather], tool_choice: { type: "function", function: { name: "get_time" } } }, "tool_choice.function.name"],
    ["a name with a space", { tools: [{ type: "function", function: { name: "get weather" } }] }, "tools[0].function.name"],
    ["a name of 65 characters", { tools: [{ type: "function", function: { name: "a".repeat(65) } }] }, "tools[0].function.name"],
    ["an empty name", { tools: [weather, { type: "function", function: { name: "" } }] }, "tools[1].function.name"],
    ["a non-ASCII name", { tools: [{ type: "function", function: { name: "météo" } }] }, "tools[0].function.name"],
    ["a duplicate name", { tools: [weather, time, weather] }, "tools[2].function.name"],
    ["a description that is not a string", { tools: [{ type: "function", function: { name: "f", description: 7 } }] }, "tools[0].function.description"],
    ["parameters that are not an object", { tools: [{ type: "function", function: { name: "f", parameters: "{}" } }] }, "tools[0].function.parameters"],
    ["too many tools", { tools: Array.from({ length: MAX_TOOLS + 1 }, (_, i) => ({ type: "function", function: { name: `t${i}` } })) }, "tools"],
    ["parallel_tool_calls that is not a boolean", { tools: [weather], parallel_tool_calls: "no" }, "parallel_tool_calls"],
  ])("refuses %s (400 naming it)", (_what, extra, param) => {
    expect(refusal({ messages: [ask], ...extra })).toMatchObject({ code: "INVALID_PARAMS", param });
  });

  test("the largest accepted shapes pass: 64-character names, the tool cap", () => {
    const tools = Array.from({ length: MAX_TOOLS }, (_, i) => ({ type: "function", function: { name: `${"n".repeat(60)}${String(i).padStart(4, "0")}` } }));
    expect(tr({ messages: [ask], tools }).tools).toHaveLength(MAX_TOOLS);
  });
});

describe("request: a tool history", () => {
  const history = [
    { role: "system", content: "Be brief." },
    ask,
    { role: "assistant", content: "Checking both.", tool_calls: [call("call_1", "get_weather", '{"city":"Paris"}'), call("toolu_01AbC-x", "get_time", "")] },
    { role: "tool", tool_call_id: "toolu_01AbC-x", content: "14:05" },
    { role: "developer", content: "Answer in one line." },
    { role: "tool", tool_call_id: "call_1", content: [{ type: "text", text: "18°C" }, { type: "text", text: "sunny" }] },
    { role: "user", content: "and tomorrow?" },
    { role: "assistant", content: null, tool_calls: [call("call_2", "get_weather", '{"city":"Paris","day":{"offset":1}}')] },
    { role: "tool", tool_call_id: "call_2", content: "rain" },
  ];

  test("calls become tool_use blocks, consecutive results one user turn (results first, then the user's text)", () => {
    const req = tr({ messages: history, tools: [weather, time] });
    expect(req.system).toBe("Be brief.\n\nAnswer in one line.");
    expect(req.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "weather?" }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Checking both." },
          { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } },
          { type: "tool_use", id: "toolu_01AbC-x", name: "get_time", input: {} },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_01AbC-x", content: "14:05" },
          { type: "tool_result", tool_use_id: "call_1", content: "18°C\nsunny" },
          { type: "text", text: "and tomorrow?" },
        ],
      },
      { role: "assistant", content: [{ type: "tool_use", id: "call_2", name: "get_weather", input: { city: "Paris", day: { offset: 1 } } }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "call_2", content: "rain" }] },
    ]);
  });

  test("round trip: a JSON answer's tool_calls, sent back with results, become the same tool_use blocks", () => {
    const answer = fromAnthropicResponse(
      { id: "msg_1", content: [{ type: "tool_use", id: "toolu_A", name: "get_weather", input: { city: "Oslo" } }, { type: "tool_use", id: "toolu_B", name: "get_time", input: {} }], stop_reason: "tool_use", usage: {} },
      "claude-x",
      0,
    ).body;
    const message = (answer as J).choices[0].message;
    const req = tr({ messages: [ask, message, { role: "tool", tool_call_id: "toolu_A", content: "cold" }, { role: "tool", tool_call_id: "toolu_B", content: "noon" }], tools: [weather, time] });
    expect(req.messages.slice(1)).toEqual([
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_A", name: "get_weather", input: { city: "Oslo" } }, { type: "tool_use", id: "toolu_B", name: "get_time", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_A", content: "cold" }, { type: "tool_result", tool_use_id: "toolu_B", content: "noon" }] },
    ]);
  });

  const asst = (...calls: J[]) => ({ role: "assistant", content: null, tool_calls: calls });
  const result = (id: string) => ({ role: "tool", tool_call_id: id, content: "ok" });
  test.each([
    ["arguments that are not JSON", [ask, asst(call("c1", "f", "{city:")), result("c1")], "messages[1].tool_calls[0].function.arguments", "not valid JSON"],
    ["arguments that are a JSON array", [ask, asst(call("c1", "f", "[1,2]")), result("c1")], "messages[1].tool_calls[0].function.arguments", "JSON object"],
    ["arguments that are not a string", [ask, asst({ id: "c1", type: "function", function: { name: "f", arguments: { a: 1 } } }), result("c1")], "messages[1].tool_calls[0].function.arguments", "string of JSON"],
    ["a call without an id", [ask, asst({ type: "function", function: { name: "f", arguments: "{}" } })], "messages[1].tool_calls[0]", "needs an id"],
    ["a call id with a dot", [ask, asst(call("call.1", "f", "{}")), result("call.1")], "messages[1].tool_calls[0].id", "letters, digits"],
    ["a call id of 257 characters", [ask, asst(call("c".repeat(257), "f", "{}"))], "messages[1].tool_calls[0].id", "letters, digits"],
    ["a call name with a slash", [ask, asst(call("c1", "a/b", "{}")), result("c1")], "messages[1].tool_calls[0].function.name", "letters, digits"],
    ["a call id used twice in one message", [ask, asst(call("c1", "f", "{}"), call("c1", "g", "{}")), result("c1")], "messages[1].tool_calls[1].id", "used twice"],
    ["too many calls in one message", [ask, asst(...Array.from({ length: MAX_TOOL_CALLS + 1 }, (_, i) => call(`c${i}`, "f", "{}")))], "messages[1].tool_calls", `more than ${MAX_TOOL_CALLS}`],
    ["a result that answers no call", [ask, asst(call("c1", "f", "{}")), result("c1"), result("c9")], "messages[3].tool_call_id", "does not answer"],
    ["a result given twice", [ask, asst(call("c1", "f", "{}"), call("c2", "f", "{}")), result("c1"), result("c1")], "messages[3].tool_call_id", "does not answer"],
    ["a result after a user message", [ask, asst(call("c1", "f", "{}")), result("c1"), ask, result("c1")], "messages[4].tool_call_id", "does not answer"],
    ["a result with an id Messages refuses", [ask, result("x y")], "messages[1].tool_call_id", "letters, digits"],
    ["a call left unanswered before a user message", [ask, asst(call("c1", "f", "{}"), call("c2", "f", "{}")), result("c2"), ask], "messages[1].tool_calls", '"c1" needs a tool message answering it before messages[3]'],
    ["a call left unanswered before an assistant message", [ask, asst(call("c1", "f", "{}")), { role: "assistant", content: "done" }], "messages[1].tool_calls", "before messages[2]"],
    ["a call left unanswered at the end", [ask, asst(call("c1", "f", "{}"))], "messages[1].tool_calls", '"c1" needs a tool message'],
  ])("refuses %s (400 naming the message and field)", (_what, messages, param, words) => {
    const r = refusal({ messages, tools: [{ type: "function", function: { name: "f" } }, { type: "function", function: { name: "g" } }] });
    expect(r).toMatchObject({ code: "INVALID_PARAMS", param });
    expect(r.message).toContain(words);
  });
});

describe("response: tool_use → tool_calls", () => {
  test("JSON: calls only → content null, each call's input as a JSON string, finish_reason tool_calls", () => {
    const { body } = fromAnthropicResponse(
      { id: "msg_9", content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris", units: ["c"] } }, { type: "tool_use", id: "toolu_2", name: "get_time", input: {} }], stop_reason: "tool_use", usage: { input_tokens: 1, output_tokens: 2 } },
      "claude-x",
      5,
    );
    expect(body.choices).toEqual([
      {
        index: 0,
        message: {
          role: "assistant",
          content: null,
          refusal: null,
          tool_calls: [
            { id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris","units":["c"]}' } },
            { id: "toolu_2", type: "function", function: { name: "get_time", arguments: "{}" } },
          ],
        },
        finish_reason: "tool_calls",
        logprobs: null,
      },
    ]);
  });

  test("stream: each call opens with index, id and name, then its argument fragments; a call without input gets {}", () => {
    const t = new AnthropicStreamTranslator("claude-x", 7);
    const events: [string, J][] = [
      ["message_start", { message: { id: "msg_s", usage: { input_tokens: 5, output_tokens: 1 } } }],
      ["content_block_start", { index: 0, content_block: { type: "tool_use", id: "toolu_a", name: "get_time", input: {} } }],
      ["content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: "" } }],
      ["content_block_stop", { index: 0 }],
      ["content_block_start", { index: 1, content_block: { type: "tool_use", id: "toolu_b", name: "get_weather", input: {} } }],
      ["content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: '{"ci' } }],
      ["content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: 'ty":"Oslo"}' } }],
      ["content_block_stop", { index: 1 }],
      ["message_delta", { delta: { stop_reason: "tool_use" }, usage: { output_tokens: 9 } }],
      ["message_stop", {}],
    ];
    const deltas = events.flatMap(([type, ev]) => t.feed(type, { type, ...ev }) as J[]).map((c) => [c.choices[0].delta, c.choices[0].finish_reason]);
    expect(deltas).toEqual([
      [{ role: "assistant", content: "" }, null],
      [{ tool_calls: [{ index: 0, id: "toolu_a", type: "function", function: { name: "get_time", arguments: "" } }] }, null],
      [{ tool_calls: [{ index: 0, function: { arguments: "{}" } }] }, null],
      [{ tool_calls: [{ index: 1, id: "toolu_b", type: "function", function: { name: "get_weather", arguments: "" } }] }, null],
      [{ tool_calls: [{ index: 1, function: { arguments: '{"ci' } }] }, null],
      [{ tool_calls: [{ index: 1, function: { arguments: 'ty":"Oslo"}' } }] }, null],
      [{}, "tool_calls"],
    ]);
  });
});

describe("the input bound over tool structures", () => {
  const body = (messages: J[], extra: J = {}) => ({ model: "claude-up", max_tokens: 100, messages, ...extra });
  const bound = (b: J) => inputTokenBound(prepareAnthropic(b, false));

  test("tool results and tool_use input are counted by their bytes in the translated payload", () => {
    const msgs = (arg: string, res: string) => [ask, { role: "assistant", content: null, tool_calls: [call("c1", "f", JSON.stringify({ q: arg }))] }, { role: "tool", tool_call_id: "c1", content: res }];
    const small = bound(body(msgs("", ""), { tools: [{ type: "function", function: { name: "f" } }] }));
    expect(bound(body(msgs("", "r".repeat(50_000)), { tools: [{ type: "function", function: { name: "f" } }] })) - small).toBeGreaterThanOrEqual(50_000);
    expect(bound(body(msgs("a".repeat(50_000), ""), { tools: [{ type: "function", function: { name: "f" } }] })) - small).toBeGreaterThanOrEqual(50_000);
    const withSchema = bound(body([ask], { tools: [{ type: "function", function: { name: "f", description: "d".repeat(30_000) } }] }));
    expect(withSchema - bound(body([ask]))).toBeGreaterThanOrEqual(30_000);
  });

  test("framing: each tool, call, input key and result adds its allowance", () => {
    const req = tr({
      messages: [ask, { role: "assistant", content: null, tool_calls: [call("c1", "f", '{"a":1,"b":{"c":2}}'), call("c2", "f", "")] }, { role: "tool", tool_call_id: "c1", content: "x" }, { role: "tool", tool_call_id: "c2", content: "y" }],
      tools: [{ type: "function", function: { name: "f" } }],
    });
    expect(framingTokens(req)).toBe(FRAMING.tool + 2 * FRAMING.toolUse + 2 * FRAMING.inputKey + 2 * FRAMING.toolResult);
    expect(prepareAnthropic(body([ask]), false).framingTokens).toBe(0);
    const history = body([ask, { role: "assistant", content: null, tool_calls: [call("c1", "f", '{"a":1}')] }, { role: "tool", tool_call_id: "c1", content: "x" }], { tools: [{ type: "function", function: { name: "f" } }] });
    const prepared = prepareAnthropic(history, false);
    expect(prepared.framingTokens).toBe(FRAMING.tool + FRAMING.toolUse + FRAMING.inputKey + FRAMING.toolResult);
    expect(inputTokenBound(prepared)).toBeGreaterThanOrEqual(Buffer.byteLength(prepared.payload) + prepared.framingTokens);
  });

  // Messages renders each top-level input key of a call in a tag of its own; a history of calls with
  // many one-byte keys holds more text at the provider than bytes in the payload. Rendered here the
  // way Claude's tool-use prompt spells calls and results, the bound must still cover it.
  test("a call with many tiny keys is bounded above its rendering as the provider frames it", () => {
    const input = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [i.toString(36), 0]));
    const b = body([ask, { role: "assistant", content: null, tool_calls: [call("c1", "f", JSON.stringify(input))] }, { role: "tool", tool_call_id: "c1", content: "" }], { tools: [{ type: "function", function: { name: "f" } }] });
    const rendered =
      `<function_calls>\n<invoke name="f">\n${Object.entries(input).map(([k, v]) => `<parameter name="${k}">${v}</parameter>\n`).join("")}</invoke>\n</function_calls>\n` +
      `<function_results>\n<result>\n<tool_name>f</tool_name>\n<stdout>\n\n</stdout>\n</result>\n</function_results>\n` +
      `weather?\n<tool_description>\n<tool_name>f</tool_name>\n<parameters>\n{"type":"object","properties":{}}\n</parameters>\n</tool_description>\n`;
    expect(bound(b)).toBeGreaterThanOrEqual(Buffer.byteLength(rendered));
  });
});
