// Golden tests for the chat completions ⇄ Bedrock Converse translation: exact Converse bodies, exact
// OpenAI answers and stream chunks from ConverseStream events (as the AWS SDK hands them over), and
// the 400s naming the field for what Converse cannot take.
import { describe, expect, test } from "bun:test";
import { ConverseStreamTranslator, converseFinish, converseUsage, fromConverseResponse, toConverseRequest } from "../../../src/modules/providers/bedrock.translate.ts";
import { prepareBedrock } from "../../../src/modules/providers/bedrock.provider.ts";

const weather = { type: "function", function: { name: "get_weather", description: "Weather by city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };
const time = { type: "function", function: { name: "get_time" } };

describe("request: chat completions → Converse", () => {
  test("system, turns, inline image, tool uses and results, tool specs, tool choice, inference settings", () => {
    const body = {
      model: "anthropic.claude-3-haiku-20240307-v1:0",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/4AAQ" } }] },
        { role: "assistant", content: "A cat." },
        { role: "user", content: "Weather and time?" },
        { role: "assistant", content: "", tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }, { id: "call_2", type: "function", function: { name: "get_time", arguments: "" } }] },
        { role: "tool", tool_call_id: "call_1", content: "18°C" },
        { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "14:05" }] },
      ],
      tools: [weather, time],
      tool_choice: "required",
      temperature: 0.2,
      top_p: 0.9,
      stop: ["END", "STOP"],
      user: "opaque-tenant-id",
      max_tokens: 999,
    };
    expect(toConverseRequest(body, 256)).toEqual({
      messages: [
        { role: "user", content: [{ text: "What is this?" }, { image: { format: "jpeg", source: { bytes: "/9j/4AAQ" } } }] },
        { role: "assistant", content: [{ text: "A cat." }] },
        { role: "user", content: [{ text: "Weather and time?" }] },
        { role: "assistant", content: [{ toolUse: { toolUseId: "call_1", name: "get_weather", input: { city: "Paris" } } }, { toolUse: { toolUseId: "call_2", name: "get_time", input: {} } }] },
        { role: "user", content: [{ toolResult: { toolUseId: "call_1", content: [{ text: "18°C" }] } }, { toolResult: { toolUseId: "call_2", content: [{ text: "14:05" }] } }] },
      ],
      system: [{ text: "You are terse." }],
      inferenceConfig: { maxTokens: 256, temperature: 0.2, topP: 0.9, stopSequences: ["END", "STOP"] },
      toolConfig: {
        tools: [
          { toolSpec: { name: "get_weather", description: "Weather by city", inputSchema: { json: weather.function.parameters } } },
          { toolSpec: { name: "get_time", inputSchema: { json: { type: "object", properties: {} } } } },
        ],
        toolChoice: { any: {} },
      },
    });
  });

  test.each([
    ["auto", { auto: {} }],
    [{ type: "function", function: { name: "get_time" } }, { tool: { name: "get_time" } }],
  ])("tool_choice %p → %p", (choice, want) => {
    const req = toConverseRequest({ model: "m", messages: [{ role: "user", content: "hi" }], tools: [weather, time], tool_choice: choice }, 10);
    expect((req.toolConfig as any).toolChoice).toEqual(want);
  });

  test("what Converse cannot take is a 400 naming the client's field", () => {
    const at = (body: Record<string, unknown>) => {
      try {
        toConverseRequest({ model: "m", ...body }, 10);
      } catch (err) {
        return [(err as any).code, (err as any).details?.param];
      }
      return null;
    };
    const hi = [{ role: "user", content: "hi" }];
    expect(at({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/a.png" } }] }] })).toEqual(["INVALID_PARAMS", "messages[0].content[0].image_url.url"]);
    expect(at({ messages: [{ role: "user", content: [{ type: "text", text: "x" }, { type: "image_url", image_url: { url: "data:image/tiff;base64,AAAA" } }] }] })).toEqual(["INVALID_PARAMS", "messages[0].content[1].image_url.url"]);
    expect(at({ messages: hi, n: 2 })).toEqual(["INVALID_PARAMS", "n"]);
    expect(at({ messages: hi, tools: [weather], tool_choice: "none" })).toEqual(["INVALID_PARAMS", "tool_choice"]);
    expect(at({ messages: hi, tools: [weather], parallel_tool_calls: false })).toEqual(["INVALID_PARAMS", "parallel_tool_calls"]);
    const history = [...hi, { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: "{}" } }] }, { role: "tool", tool_call_id: "call_1", content: "r" }];
    expect(at({ messages: history })).toEqual(["INVALID_PARAMS", "tools"]);
    expect(at({ messages: history, tools: [weather] })).toBeNull();
  });

  test("prepare: the model id stays out of the body, images are counted from their base64", () => {
    const req = prepareBedrock({ model: "amazon.nova-lite-v1:0", max_completion_tokens: 12, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }] }] }, false);
    expect(req).toMatchObject({ modelId: "amazon.nova-lite-v1:0", images: 1, imageBytes: 6, structured: false, framingTokens: 0 });
    expect(JSON.parse(req.payload)).toEqual({ messages: [{ role: "user", content: [{ image: { format: "png", source: { bytes: "AAAA" } } }] }], inferenceConfig: { maxTokens: 12 } });
  });
});

describe("response: Converse → chat completion", () => {
  test("text, tool uses, stop reason, usage with cache reads and writes", () => {
    const resp = {
      output: { message: { role: "assistant", content: [{ text: "Checking." }, { toolUse: { toolUseId: "tooluse_1", name: "get_weather", input: { city: "Paris" } } }] } },
      stopReason: "tool_use",
      usage: { inputTokens: 10, outputTokens: 20, totalTokens: 65, cacheReadInputTokens: 30, cacheWriteInputTokens: 5 },
      metrics: { latencyMs: 100 },
    };
    expect(fromConverseResponse(resp, "public-nova", 1700000000, "chatcmpl-req1")).toEqual({
      body: {
        id: "chatcmpl-req1",
        object: "chat.completion",
        created: 1700000000,
        model: "public-nova",
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: "Checking.", refusal: null, tool_calls: [{ id: "tooluse_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
            finish_reason: "tool_calls",
            logprobs: null,
          },
        ],
        usage: { prompt_tokens: 45, completion_tokens: 20, total_tokens: 65, prompt_tokens_details: { cached_tokens: 30, cache_write_tokens: 5 }, completion_tokens_details: { reasoning_tokens: 0 } },
      },
      usage: { inputTokens: 45, outputTokens: 20, cacheReadTokens: 30, cacheWriteTokens: 5, reasoningTokens: 0 },
    });
  });

  test.each([
    ["end_turn", "stop"],
    ["stop_sequence", "stop"],
    ["max_tokens", "length"],
    ["model_context_window_exceeded", "length"],
    ["tool_use", "tool_calls"],
    ["guardrail_intervened", "content_filter"],
    ["content_filtered", "content_filter"],
  ])("stopReason %p → %p", (stop, want) => {
    expect(converseFinish(stop)).toBe(want);
  });

  test("no usage is no usage", () => {
    expect(converseUsage(undefined)).toBeNull();
  });
});

describe("stream: ConverseStream events → chunks", () => {
  test("role, text, a tool use with streamed input (and one without input), the stop, then the metadata's usage", () => {
    const t = new ConverseStreamTranslator("pub", 5, "chatcmpl-r");
    const base = { id: "chatcmpl-r", object: "chat.completion.chunk", created: 5, model: "pub" };
    const c = (delta: object, finish: string | null = null) => ({ ...base, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
    const events = [
      { messageStart: { role: "assistant" } },
      { contentBlockDelta: { contentBlockIndex: 0, delta: { text: "Checking." } } },
      { contentBlockStop: { contentBlockIndex: 0 } },
      { contentBlockStart: { contentBlockIndex: 1, start: { toolUse: { toolUseId: "tu_1", name: "get_weather" } } } },
      { contentBlockDelta: { contentBlockIndex: 1, delta: { toolUse: { input: '{"city":' } } } },
      { contentBlockDelta: { contentBlockIndex: 1, delta: { toolUse: { input: '"Paris"}' } } } },
      { contentBlockStop: { contentBlockIndex: 1 } },
      { contentBlockStart: { contentBlockIndex: 2, start: { toolUse: { toolUseId: "tu_2", name: "get_time" } } } },
      { contentBlockStop: { contentBlockIndex: 2 } },
      { messageStop: { stopReason: "tool_use" } },
    ];
    expect(events.flatMap((e) => t.feed(e))).toEqual([
      c({ role: "assistant", content: "" }),
      c({ content: "Checking." }),
      c({ tool_calls: [{ index: 0, id: "tu_1", type: "function", function: { name: "get_weather", arguments: "" } }] }),
      c({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      c({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
      c({ tool_calls: [{ index: 1, id: "tu_2", type: "function", function: { name: "get_time", arguments: "" } }] }),
      c({ tool_calls: [{ index: 1, function: { arguments: "{}" } }] }),
      c({}, "tool_calls"),
    ]);
    expect(t.done).toBe(false);
    expect(t.feed({ metadata: { usage: { inputTokens: 4, outputTokens: 9, totalTokens: 13 }, metrics: { latencyMs: 3 } } })).toEqual([]);
    expect(t.done).toBe(true);
    expect(t.usageChunk()).toEqual({ ...base, choices: [], usage: { prompt_tokens: 4, completion_tokens: 9, total_tokens: 13, prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } } });
  });

  test("an exception event is thrown with its message", () => {
    const t = new ConverseStreamTranslator("pub", 5, "x");
    expect(() => t.feed({ modelStreamErrorException: { message: "boom" } })).toThrow("provider failed mid-stream: boom");
  });
});

describe("the input bound's tool framing", () => {
  test("gemini and bedrock reserve the Anthropic framing allowance for the same tools, calls and results", async () => {
    const { prepareAnthropic } = await import("../../../src/modules/providers/anthropic.provider.ts");
    const { prepareGemini } = await import("../../../src/modules/providers/gemini.provider.ts");
    const body = () => ({
      model: "m",
      max_tokens: 10,
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris","unit":"C","day":1}' } }, { id: "call_2", type: "function", function: { name: "get_time", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "call_1", content: "18" },
        { role: "tool", tool_call_id: "call_2", content: "14:05" },
      ],
      tools: [weather, time],
    });
    const want = prepareAnthropic(body(), false).framingTokens;
    expect(want).toBe(2 * 64 + 2 * 64 + 3 * 32 + 2 * 32);
    expect(prepareBedrock(body(), false).framingTokens).toBe(want);
    expect(prepareGemini(body(), false).framingTokens).toBe(want);
  });
});
