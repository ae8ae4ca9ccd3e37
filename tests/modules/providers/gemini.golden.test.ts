// Golden tests for the chat completions ⇄ Gemini generateContent translation: exact request bodies,
// exact OpenAI answers and stream chunks, and the 400s naming the field for what Gemini cannot take.
import { describe, expect, test } from "bun:test";
import { fromGeminiResponse, GeminiStreamTranslator, geminiFinish, geminiUsage, toGeminiRequest } from "../../../src/modules/providers/gemini.translate.ts";
import { modelUrl, prepareGemini } from "../../../src/modules/providers/gemini.provider.ts";

const weather = { type: "function", function: { name: "get_weather", description: "Weather by city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };

describe("request: chat completions → generateContent", () => {
  test("system, turns, inline image, tool calls and results, tools, tool choice, generation settings, JSON schema output", () => {
    const body = {
      model: "gemini-2.5-flash",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "developer", content: [{ type: "text", text: "Use metric units." }] },
        { role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }] },
        { role: "assistant", content: "A cat." },
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
        { role: "tool", tool_call_id: "call_1", content: "18°C" },
      ],
      tools: [weather],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      temperature: 0.2,
      top_p: 0.9,
      stop: "END",
      n: 2,
      seed: 7,
      presence_penalty: 0.1,
      frequency_penalty: 0.3,
      response_format: { type: "json_schema", json_schema: { name: "w", schema: { type: "object", properties: { t: { type: "number" } } } } },
      user: "opaque-tenant-id",
      max_tokens: 999,
    };
    expect(toGeminiRequest(body, 256)).toEqual({
      contents: [
        { role: "user", parts: [{ text: "What is this?" }, { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } }] },
        { role: "model", parts: [{ text: "A cat." }] },
        { role: "user", parts: [{ text: "Weather in Paris?" }] },
        { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } } }] },
        { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { content: "18°C" } } }] },
      ],
      systemInstruction: { parts: [{ text: "You are terse.\n\nUse metric units." }] },
      tools: [{ functionDeclarations: [{ name: "get_weather", description: "Weather by city", parametersJsonSchema: weather.function.parameters }] }],
      toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } },
      generationConfig: {
        maxOutputTokens: 256,
        temperature: 0.2,
        topP: 0.9,
        stopSequences: ["END"],
        candidateCount: 2,
        seed: 7,
        presencePenalty: 0.1,
        frequencyPenalty: 0.3,
        responseMimeType: "application/json",
        responseJsonSchema: { type: "object", properties: { t: { type: "number" } } },
      },
    });
  });

  test.each([
    ["auto", { mode: "AUTO" }],
    ["none", { mode: "NONE" }],
    ["required", { mode: "ANY" }],
  ])("tool_choice %p → functionCallingConfig %p", (choice, cfg) => {
    const req = toGeminiRequest({ model: "g", messages: [{ role: "user", content: "hi" }], tools: [weather], tool_choice: choice }, 10);
    expect(req.toolConfig).toEqual({ functionCallingConfig: cfg });
  });

  test("json_object and text response formats", () => {
    const m = [{ role: "user", content: "hi" }];
    expect(toGeminiRequest({ model: "g", messages: m, response_format: { type: "json_object" } }, 5).generationConfig).toEqual({ maxOutputTokens: 5, responseMimeType: "application/json" });
    expect(toGeminiRequest({ model: "g", messages: m, response_format: { type: "text" } }, 5).generationConfig).toEqual({ maxOutputTokens: 5 });
  });

  test("what Gemini cannot take is a 400 naming the client's field", () => {
    const at = (body: Record<string, unknown>) => {
      try {
        toGeminiRequest({ model: "g", ...body }, 10);
      } catch (err) {
        return [(err as any).code, (err as any).details?.param];
      }
      return null;
    };
    expect(at({ messages: [{ role: "user", content: [{ type: "text", text: "x" }, { type: "image_url", image_url: { url: "https://example.com/a.png" } }] }] })).toEqual(["INVALID_PARAMS", "messages[0].content[1].image_url.url"]);
    expect(at({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png,notbase64" } }] }] })).toEqual(["INVALID_PARAMS", "messages[0].content[0].image_url.url"]);
    expect(at({ messages: [{ role: "user", content: "x" }], tools: [weather], parallel_tool_calls: false })).toEqual(["INVALID_PARAMS", "parallel_tool_calls"]);
    // The tool pairing rules are the Anthropic translation's (a result answering no call).
    expect(at({ messages: [{ role: "user", content: "x" }, { role: "tool", tool_call_id: "call_9", content: "r" }] })).toEqual(["INVALID_PARAMS", "messages[1].tool_call_id"]);
  });

  test("prepare: the model goes in the URL, images are counted, tools mark the request structured", () => {
    const req = prepareGemini({ model: "gemini-2.5-flash", max_tokens: 9, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }] }], tools: [weather] }, true);
    expect(req).toMatchObject({ model: "gemini-2.5-flash", images: 1, imageBytes: 6, structured: true, framingTokens: 64 });
    expect(JSON.parse(req.payload).generationConfig).toEqual({ maxOutputTokens: 9 });
    expect(modelUrl("https://generativelanguage.googleapis.com/v1beta/", "gemini-2.5-flash", false)).toBe("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent");
    expect(modelUrl("https://x/v1beta", "tunedModels/mine", true)).toBe("https://x/v1beta/tunedModels/mine:streamGenerateContent?alt=sse");
  });
});

describe("response: generateContent → chat completion", () => {
  test("text (thought summaries left out), function calls, usage with cached and thinking tokens", () => {
    const resp = {
      responseId: "r-1.x",
      candidates: [
        { index: 0, finishReason: "STOP", content: { role: "model", parts: [{ text: "thinking…", thought: true }, { text: "Checking." }, { functionCall: { name: "get_weather", args: { city: "Paris" } } }] } },
      ],
      usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 20, thoughtsTokenCount: 30, cachedContentTokenCount: 40, toolUsePromptTokenCount: 5, totalTokenCount: 155 },
    };
    expect(fromGeminiResponse(resp, "public-gemini", 1700000000)).toEqual({
      body: {
        id: "chatcmpl-r-1.x",
        object: "chat.completion",
        created: 1700000000,
        model: "public-gemini",
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: "Checking.", refusal: null, tool_calls: [{ id: "call_r-1x_0_0", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
            finish_reason: "tool_calls",
            logprobs: null,
          },
        ],
        usage: { prompt_tokens: 105, completion_tokens: 50, total_tokens: 155, prompt_tokens_details: { cached_tokens: 40, cache_write_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 30 } },
      },
      usage: { inputTokens: 105, outputTokens: 50, cacheReadTokens: 40, cacheWriteTokens: 0, reasoningTokens: 30 },
    });
  });

  test("several candidates become several choices; a blocked prompt an empty filtered answer", () => {
    const two = fromGeminiResponse({ responseId: "r", candidates: [0, 1].map((index) => ({ index, finishReason: index ? "MAX_TOKENS" : "STOP", content: { parts: [{ text: `c${index}` }] } })) }, "m", 1);
    expect(two.body.choices).toEqual([
      { index: 0, message: { role: "assistant", content: "c0", refusal: null }, finish_reason: "stop", logprobs: null },
      { index: 1, message: { role: "assistant", content: "c1", refusal: null }, finish_reason: "length", logprobs: null },
    ]);
    expect(two.usage).toBeNull();
    const blocked = fromGeminiResponse({ responseId: "r", promptFeedback: { blockReason: "SAFETY" }, usageMetadata: { promptTokenCount: 3 } }, "m", 1);
    expect(blocked.body.choices).toEqual([{ index: 0, message: { role: "assistant", content: "", refusal: null }, finish_reason: "content_filter", logprobs: null }]);
    expect(blocked.usage).toEqual({ inputTokens: 3, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
  });

  test.each([
    ["STOP", false, "stop"],
    ["MAX_TOKENS", false, "length"],
    ["SAFETY", false, "content_filter"],
    ["RECITATION", false, "content_filter"],
    ["PROHIBITED_CONTENT", false, "content_filter"],
    ["MALFORMED_FUNCTION_CALL", false, "stop"],
    ["STOP", true, "tool_calls"],
  ])("finishReason %p (calls: %p) → %p", (reason, calls, want) => {
    expect(geminiFinish(reason, calls)).toBe(want);
  });

  test("no usageMetadata is no usage", () => {
    expect(geminiUsage(undefined)).toBeNull();
  });
});

describe("stream: streamGenerateContent → chunks", () => {
  test("role first, text deltas, a whole function call, the finish, then the closing usage", () => {
    const t = new GeminiStreamTranslator("pub", 5);
    const base = { id: "chatcmpl-s1", object: "chat.completion.chunk", created: 5, model: "pub" };
    const c = (delta: object, finish: string | null = null) => ({ ...base, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
    expect(t.feed({ responseId: "s1", candidates: [{ content: { role: "model", parts: [{ text: "Check" }] }, index: 0 }], usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 1 } })).toEqual([c({ role: "assistant", content: "" }), c({ content: "Check" })]);
    expect(t.finished).toBe(false);
    expect(t.feed({ responseId: "s1", candidates: [{ content: { role: "model", parts: [{ text: "ing." }, { functionCall: { name: "get_weather", args: { city: "Paris" } } }] }, finishReason: "STOP", index: 0 }], usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 7 } })).toEqual([
      c({ content: "ing." }),
      c({ tool_calls: [{ index: 0, id: "call_s1_0_0", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] }),
      c({}, "tool_calls"),
    ]);
    expect(t.finished).toBe(true);
    expect(t.usageChunk()).toEqual({ ...base, choices: [], usage: { prompt_tokens: 10, completion_tokens: 7, total_tokens: 17, prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } } });
  });

  test("an error object mid-stream is thrown", () => {
    const t = new GeminiStreamTranslator("pub", 5);
    expect(() => t.feed({ error: { code: 503, message: "overloaded", status: "UNAVAILABLE" } })).toThrow("provider failed mid-stream: overloaded");
  });
});
