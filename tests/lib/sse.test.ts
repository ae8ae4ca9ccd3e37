import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { parseSse } from "../../src/lib/sse.ts";
import { openAiUsage } from "../../src/modules/providers/openai.provider.ts";

async function collect(text: string, step: number) {
  const bytes = new TextEncoder().encode(text);
  const s = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.length; i += step) c.enqueue(bytes.slice(i, i + step));
      c.close();
    },
  });
  const out = [];
  for await (const e of parseSse(s)) out.push(e);
  return out;
}

describe("SSE parser", () => {
  test("events, multi-line data, comments, \\r\\n, and a last event without a blank line", async () => {
    const text = ": hello\r\nevent: a\r\ndata: 1\r\ndata: 2\r\n\r\ndata: {\"x\":1}\n\n:keep-alive\n\ndata: [DONE]";
    for (const step of [1, 2, 3, 5, 100]) {
      expect(await collect(text, step)).toEqual([
        { event: "a", data: "1\n2" },
        { event: undefined, data: '{"x":1}' },
        { event: undefined, data: "[DONE]" },
      ]);
    }
  });

  test("property: any split of a stream of events yields the same events", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: "grapheme" }).filter((s) => !/[\r\n]/.test(s)), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 9 }), async (datas, step) => {
        const text = datas.map((d) => `data: ${d}\n\n`).join("");
        const got = await collect(text, step);
        return JSON.stringify(got.map((e) => e.data)) === JSON.stringify(datas);
      }),
      { numRuns: 200 },
    );
  });
});

describe("OpenAI usage parsing", () => {
  test.each([
    [{ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }, { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }],
    [
      { prompt_tokens: 100, completion_tokens: 50, prompt_tokens_details: { cached_tokens: 80 }, completion_tokens_details: { reasoning_tokens: 30 } },
      { inputTokens: 100, outputTokens: 50, cacheReadTokens: 80, cacheWriteTokens: 0, reasoningTokens: 30 },
    ],
    [{ prompt_tokens: 9, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 2, cache_write_tokens: 3 } }, { inputTokens: 9, outputTokens: 1, cacheReadTokens: 2, cacheWriteTokens: 3, reasoningTokens: 0 }],
    [{ prompt_tokens: -3, completion_tokens: "x" }, { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }],
  ])("%j", (raw, expected) => expect(openAiUsage(raw)).toEqual(expected));
  test("missing usage is null", () => {
    expect(openAiUsage(null)).toBeNull();
    expect(openAiUsage(undefined)).toBeNull();
  });
});
