// Golden tests of the Messages ⇄ chat completions translation (openai-kind providers), and a client
// that goes away mid-stream on /v1/messages (charged, the provider call aborted).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ChatToMessagesStream, effortFor, fromChatCompletion, toChatBody } from "../../../src/modules/messages/messages.translate.ts";
import { chatWorld, ledgerRows, type ChatWorld } from "../../helpers/chat.ts";

describe("request", () => {
  test("system blocks, multi-turn tools, an error result, images, sampling, metadata, thinking", () => {
    const body = toChatBody({
      model: "m",
      system: [{ type: "text", text: "one", cache_control: { type: "ephemeral" } }, { type: "text", text: "two" }],
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: [{ type: "thinking", thinking: "t", signature: "s" }, { type: "text", text: "calling" }, { type: "tool_use", id: "toolu_1", name: "f", input: { a: 1 } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", is_error: true, content: [{ type: "text", text: "boom" }] }, { type: "text", text: "and this" }, { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } }] },
      ],
      tools: [{ name: "f", description: "d", input_schema: { type: "object" } }],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
      stop_sequences: ["END"],
      temperature: 0.5,
      metadata: { user_id: "u1" },
      thinking: { type: "enabled", budget_tokens: 5000 },
      stream: true,
    });
    expect(body).toEqual({
      model: "m",
      messages: [
        { role: "system", content: "one\ntwo" },
        { role: "user", content: "hi" },
        { role: "assistant", content: "calling", tool_calls: [{ id: "toolu_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }] },
        { role: "tool", tool_call_id: "toolu_1", content: "Error: boom" },
        { role: "user", content: [{ type: "text", text: "and this" }, { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }] },
      ],
      temperature: 0.5,
      stop: ["END"],
      user: "u1",
      tools: [{ type: "function", function: { name: "f", description: "d", parameters: { type: "object" } } }],
      tool_choice: "required",
      parallel_tool_calls: false,
      reasoning_effort: "medium",
      stream: true,
    });
    expect([effortFor(1024), effortFor(4096), effortFor(16_384)]).toEqual(["low", "medium", "high"]);
  });
});

describe("response", () => {
  test("text and tool calls, stop reasons, usage without the cached part", () => {
    const msg = fromChatCompletion(
      { id: "chatcmpl-abc", choices: [{ message: { content: "ok", tool_calls: [{ id: "call_1", function: { name: "f", arguments: '{"x":2}' } }] }, finish_reason: "tool_calls" }] },
      "pub",
      { inputTokens: 100, outputTokens: 7, cacheReadTokens: 60, cacheWriteTokens: 0, reasoningTokens: 0 },
    );
    expect(msg).toEqual({
      id: "msg_abc",
      type: "message",
      role: "assistant",
      model: "pub",
      content: [{ type: "text", text: "ok" }, { type: "tool_use", id: "call_1", name: "f", input: { x: 2 } }],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: { input_tokens: 40, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 60 },
    });
    expect(fromChatCompletion({ choices: [{ message: { content: "x" }, finish_reason: "length" }] }, "p", null).stop_reason).toBe("max_tokens");
  });

  test("stream: text then two tool calls, blocks opened and closed in order, usage at the end", () => {
    const t = new ChatToMessagesStream("pub");
    const c = (delta: unknown, finish: string | null = null) => ({ id: "chatcmpl-1", choices: [{ index: 0, delta, finish_reason: finish }] });
    const events = [
      ...t.feed(c({ role: "assistant", content: "" })),
      ...t.feed(c({ content: "Hel" })),
      ...t.feed(c({ content: "lo" })),
      ...t.feed(c({ tool_calls: [{ index: 0, id: "call_a", function: { name: "f", arguments: "" } }] })),
      ...t.feed(c({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] })),
      ...t.feed(c({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] })),
      ...t.feed(c({ tool_calls: [{ index: 1, id: "call_b", function: { name: "g", arguments: "{}" } }] })),
      ...t.feed(c({}, "tool_calls")),
      ...t.feed({ id: "chatcmpl-1", choices: [], usage: { prompt_tokens: 3, completion_tokens: 9 } }),
      ...t.end({ inputTokens: 3, outputTokens: 9, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }),
    ];
    expect(events.map((e) => `${e.type}${e.index !== undefined ? `:${e.index}` : ""}`)).toEqual([
      "message_start",
      "ping",
      "content_block_start:0",
      "content_block_delta:0",
      "content_block_delta:0",
      "content_block_stop:0",
      "content_block_start:1",
      "content_block_delta:1",
      "content_block_delta:1",
      "content_block_stop:1",
      "content_block_start:2",
      "content_block_delta:2",
      "content_block_stop:2",
      "message_delta",
      "message_stop",
    ]);
    expect(events[6]).toEqual({ type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "call_a", name: "f", input: {} } });
    expect(events.at(-2)).toEqual({ type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 9 } });
  });

  test("interleaved arguments of parallel calls are an error, not dropped", () => {
    const t = new ChatToMessagesStream("pub");
    const c = (delta: unknown) => ({ id: "x", choices: [{ index: 0, delta, finish_reason: null }] });
    t.feed(c({ tool_calls: [{ index: 0, id: "a", function: { name: "f", arguments: "" } }] }));
    t.feed(c({ tool_calls: [{ index: 1, id: "b", function: { name: "g", arguments: "" } }] }));
    expect(() => t.feed(c({ tool_calls: [{ index: 0, function: { arguments: "{}" } }] }))).toThrow("interleaved");
  });
});

describe("a client that goes away mid-stream", () => {
  let w: ChatWorld;
  beforeAll(async () => {
    w = await chatWorld();
  });
  afterAll(() => w.close());

  test.each(["claude-x", "gpt-4o-mini"])("%s: the provider call is aborted and the input is charged", async (model) => {
    const ac = new AbortController();
    const res = await fetch(`${w.gw.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": w.token },
      body: JSON.stringify({ model, max_tokens: 200, stream: true, messages: [{ role: "user", content: "long [[words:100]] [[slow:50]]" }] }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    for (let i = 0; i < 100 && !w.fake.requests.at(-1)!.aborted; i++) await Bun.sleep(20);
    expect(w.fake.requests.at(-1)!.aborted).toBe(true);
    let row: any;
    for (let i = 0; i < 100; i++) {
      row = ledgerRows(w.core).at(-1);
      if (row.status !== "in_flight") break;
      await Bun.sleep(20);
    }
    expect(row.status).toBe("client_closed");
    expect(row.input_tokens).toBe(row.input_bound);
  });
});
