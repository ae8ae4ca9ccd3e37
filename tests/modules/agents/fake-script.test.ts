// The fake provider's scripted steps, in both wire formats, JSON and SSE.
import { afterAll, describe, expect, test } from "bun:test";
import { parseSse } from "../../../src/lib/sse.ts";
import { startFakeProvider } from "../../fake-provider/fake-provider.ts";

const fake = startFakeProvider();
afterAll(() => fake.stop());
const post = (p: string, body: unknown) => fetch(`${fake.url}${p}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const events = async (res: Response) => {
  const out: any[] = [];
  for await (const e of parseSse(res.body!)) if (e.data !== "[DONE]") out.push(JSON.parse(e.data));
  return out;
};
const step = { text: "Checking.", toolCalls: [{ id: "call_x", name: "file_read", arguments: { path: "a.txt" } }], usage: { input: 7, output: 9 } };

describe("fake.script", () => {
  test("OpenAI JSON and SSE: text, tool_calls, usage; then the directives again", async () => {
    fake.script([step, step]);
    const j: any = await (await post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: "x" }] })).json();
    expect(j.choices[0]).toMatchObject({ finish_reason: "tool_calls", message: { content: "Checking.", tool_calls: [{ id: "call_x", type: "function", function: { name: "file_read", arguments: '{"path":"a.txt"}' } }] } });
    expect(j.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 9 });
    const chunks = await events(await post("/v1/chat/completions", { model: "m", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "x" }] }));
    const args = chunks.flatMap((c) => c.choices?.[0]?.delta?.tool_calls ?? []).map((t: any) => t.function.arguments).join("");
    expect(args).toBe('{"path":"a.txt"}');
    expect(chunks.at(-1).usage.completion_tokens).toBe(9);
    const plain: any = await (await post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: "[[words:2]]" }] })).json();
    expect(plain.choices[0].message.content).toBe("w0 w1");
  });

  test("Anthropic JSON and SSE: text and tool_use blocks, stop_reason tool_use", async () => {
    fake.script([step, step]);
    const j: any = await (await post("/v1/messages", { model: "m", max_tokens: 100, messages: [{ role: "user", content: "x" }] })).json();
    expect(j).toMatchObject({ stop_reason: "tool_use", content: [{ type: "text", text: "Checking." }, { type: "tool_use", id: "toolu_x", name: "file_read", input: { path: "a.txt" } }], usage: { input_tokens: 7, output_tokens: 9 } });
    const evs = await events(await post("/v1/messages", { model: "m", max_tokens: 100, stream: true, messages: [{ role: "user", content: "x" }] }));
    expect(evs.map((e) => e.type)).toContain("content_block_start");
    expect(evs.filter((e) => e.delta?.type === "input_json_delta").map((e) => e.delta.partial_json).join("")).toBe('{"path":"a.txt"}');
    expect(evs.find((e) => e.type === "message_delta").delta.stop_reason).toBe("tool_use");
  });

  test("a marker's queue answers only requests that contain the marker", async () => {
    fake.script("tenant-b-marker", [{ text: "for b" }]);
    const other: any = await (await post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: "[[words:1]]" }] })).json();
    expect(other.choices[0].message.content).toBe("w0");
    const b: any = await (await post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: "tenant-b-marker" }] })).json();
    expect(b.choices[0].message.content).toBe("for b");
    expect(fake.pending("tenant-b-marker")).toBe(0);
  });
});
