// Golden tests for the chat completions ⇄ Anthropic Messages translation.
import { describe, expect, test } from "bun:test";
import { AnthropicStreamTranslator, anthropicUsage, finishReason, fromAnthropicResponse, toAnthropicRequest } from "../../../src/modules/providers/anthropic.translate.ts";
import { parseSse } from "../../../src/lib/sse.ts";

describe("request: chat completions → Messages", () => {
  test("system prompt, multi-turn, images, tools, tool calls and results, options", () => {
    const body = {
      model: "claude-x",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "developer", content: [{ type: "text", text: "Use metric units." }] },
        { role: "user", content: [{ type: "text", text: "What is in this picture?" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }] },
        { role: "assistant", content: "A cat." },
        { role: "user", content: "And the weather in Paris?" },
        { role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/sky.jpg" } }] },
        { role: "assistant", content: "", tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }, { id: "call_2", type: "function", function: { name: "get_time", arguments: "" } }] },
        { role: "tool", tool_call_id: "call_1", content: "18°C, sunny" },
        { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "14:05" }] },
      ],
      tools: [{ type: "function", function: { name: "get_weather", description: "Weather by city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }, { type: "function", function: { name: "get_time" } }],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
      temperature: 0.2,
      top_p: 0.9,
      stop: "END",
      user: "end-user-7",
      max_tokens: 999,
    };
    expect(toAnthropicRequest(body, "claude-3-5-haiku-latest", 256)).toEqual({
      model: "claude-3-5-haiku-latest",
      max_tokens: 256,
      system: "You are terse.\n\nUse metric units.",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is in this picture?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
          ],
        },
        { role: "assistant", content: [{ type: "text", text: "A cat." }] },
        {
          role: "user",
          content: [
            { type: "text", text: "And the weather in Paris?" },
            { type: "image", source: { type: "url", url: "https://example.com/sky.jpg" } },
          ],
        },
        {
          role: "assistant",
          content: [
            { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } },
            { type: "tool_use", id: "call_2", name: "get_time", input: {} },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "call_1", content: "18°C, sunny" },
            { type: "tool_result", tool_use_id: "call_2", content: "14:05" },
          ],
        },
      ],
      tools: [
        { name: "get_weather", description: "Weather by city", input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
        { name: "get_time", input_schema: { type: "object", properties: {} } },
      ],
      tool_choice: { type: "tool", name: "get_weather", disable_parallel_tool_use: true },
      temperature: 0.2,
      top_p: 0.9,
      stop_sequences: ["END"],
      metadata: { user_id: "end-user-7" },
    });
  });

  test.each([
    ["auto", { type: "auto" }],
    ["none", { type: "none" }],
    ["required", { type: "any" }],
  ])("tool_choice %s", (choice, expected) => {
    const tools = [{ type: "function", function: { name: "f" } }];
    expect(toAnthropicRequest({ messages: [{ role: "user", content: "x" }], tools, tool_choice: choice }, "m", 1).tool_choice).toEqual(expected);
  });

  test.each([
    [{ messages: [{ role: "function", content: "x" }] }, "messages[0].role"],
    [{ messages: [{ role: "tool", content: "x" }] }, "messages[0].tool_call_id"],
    [{ messages: [{ role: "user", content: [{ type: "input_audio", input_audio: {} }] }] }, "messages[0].content[0].type"],
    [{ messages: [{ role: "system", content: [{ type: "image_url" }] }] }, "messages[0].content[0]"],
    [{ messages: [{ role: "user", content: "x" }], tools: [{ type: "code_interpreter" }] }, "tools[0]"],
    [{ messages: [{ role: "user", content: "x" }], tool_choice: "sometimes" }, "tool_choice"],
  ])("refuses what Messages cannot express: %j", (body, param) => {
    let err: any;
    try {
      toAnthropicRequest(body as never, "m", 1);
    } catch (e) {
      err = e;
    }
    expect(err?.code).toBe("INVALID_PARAMS");
    expect(err?.details?.param).toBe(param);
  });
});

describe("response: Messages → chat completion", () => {
  test("text and tool use, stop reason, usage with cache reads and writes", () => {
    const msg = {
      id: "msg_01",
      type: "message",
      role: "assistant",
      model: "claude-3-5-haiku-latest",
      content: [
        { type: "text", text: "Let me check. " },
        { type: "text", text: "One moment." },
        { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: { input_tokens: 20, output_tokens: 15, cache_read_input_tokens: 100, cache_creation_input_tokens: 30 },
    };
    const { body, usage } = fromAnthropicResponse(msg, "claude-x", 1700000000);
    expect(body).toEqual({
      id: "chatcmpl-msg_01",
      object: "chat.completion",
      created: 1700000000,
      model: "claude-x",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Let me check. One moment.", refusal: null, tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
          finish_reason: "tool_calls",
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: 150,
        completion_tokens: 15,
        total_tokens: 165,
        prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 30 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
    expect(usage).toEqual({ inputTokens: 150, outputTokens: 15, cacheReadTokens: 100, cacheWriteTokens: 30, reasoningTokens: 0 });
  });

  test.each([
    ["end_turn", "stop"],
    ["stop_sequence", "stop"],
    ["max_tokens", "length"],
    ["tool_use", "tool_calls"],
    ["refusal", "content_filter"],
    ["pause_turn", "stop"],
    [null, "stop"],
  ])("stop reason %p → %s", (stop, reason) => expect(finishReason(stop)).toBe(reason));

  test("usage without cache fields", () => expect(anthropicUsage({ input_tokens: 3, output_tokens: 4 })).toEqual({ inputTokens: 3, outputTokens: 4, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }));
});

const STREAM = [
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_02","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1,"cache_read_input_tokens":40,"cache_creation_input_tokens":0}}}',
  'event: ping\ndata: {"type":"ping"}',
  'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}',
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there"}}',
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}',
  'event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_9","name":"lookup","input":{}}}',
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"q\\":"}}',
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\\"x\\"}"}}',
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}',
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":27}}',
  'event: message_stop\ndata: {"type":"message_stop"}',
].join("\n\n");

describe("stream: Messages events → chat.completion.chunk", () => {
  test("golden sequence, parsed from raw SSE split at awkward places", async () => {
    const bytes = new TextEncoder().encode(`${STREAM}\n\n`);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 7) c.enqueue(bytes.slice(i, i + 7)); // split mid-line and mid-UTF-8
        c.close();
      },
    });
    const t = new AnthropicStreamTranslator("claude-x", 1700000000);
    const chunks: unknown[] = [];
    for await (const ev of parseSse(stream)) chunks.push(...t.feed(ev.event!, JSON.parse(ev.data)));
    const base = { id: "chatcmpl-msg_02", object: "chat.completion.chunk", created: 1700000000, model: "claude-x" };
    const c = (delta: unknown, finish: string | null = null) => ({ ...base, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
    expect(chunks).toEqual([
      c({ role: "assistant", content: "" }),
      c({ content: "Hello" }),
      c({ content: " there" }),
      c({ tool_calls: [{ index: 0, id: "toolu_9", type: "function", function: { name: "lookup", arguments: "" } }] }),
      c({ tool_calls: [{ index: 0, function: { arguments: '{"q":' } }] }),
      c({ tool_calls: [{ index: 0, function: { arguments: '"x"}' } }] }),
      c({}, "tool_calls"),
    ]);
    expect(t.usage).toEqual({ inputTokens: 52, outputTokens: 27, cacheReadTokens: 40, cacheWriteTokens: 0, reasoningTokens: 0 });
    expect(t.usageChunk()).toEqual({ ...base, choices: [], usage: { prompt_tokens: 52, completion_tokens: 27, total_tokens: 79, prompt_tokens_details: { cached_tokens: 40, cache_write_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } } });
  });

  test("an error event becomes an error", () => {
    const t = new AnthropicStreamTranslator("m", 0);
    expect(() => t.feed("error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } })).toThrow("Overloaded");
  });
});
