// /v1/responses passed through to a provider that serves the Responses API (`responses: true`):
// the vetted body with the whole conversation inline and store:false upstream, our ids and model
// name back, metered from the provider's Responses usage, stored here.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chatWorld, errorOf, ledgerRows, RATES, type ChatWorld } from "../../helpers/chat.ts";

let w: ChatWorld;
beforeAll(async () => {
  w = await chatWorld({
    config: {
      providers: { native: { kind: "openai", baseUrl: "FAKE/v1", apiKey: "sk-native", responses: true, timeoutMs: 5000 } },
      models: { "gpt-native": { provider: "native", upstreamModel: "fake-responses" } },
      billing: { rateCard: { "gpt-4o-mini": RATES, "gpt-native": RATES } },
    },
  });
});
afterAll(() => w.close());

const last = () => w.fake.requests[w.fake.requests.length - 1]!;

test("JSON: sent to <baseUrl>/responses vetted, answered with our id and model, metered, stored", async () => {
  const r = await w.client().responses.create({ model: "gpt-native", input: "hi [[words:3]]", instructions: "sys", user: "end-user-1", metadata: { k: "v" } });
  const up = last();
  expect(up.path).toBe("/v1/responses");
  expect(up.headers.authorization).toBe("Bearer sk-native");
  expect(up.body.model).toBe("fake-responses");
  expect(up.body.store).toBe(false);
  expect(up.body.instructions).toBe("sys");
  expect(up.body.metadata).toBeUndefined();
  expect(up.body.user).toMatch(/^oc-/);
  expect(up.body.user).not.toContain("end-user-1");
  expect(up.body.max_output_tokens).toBe(4096);
  expect(up.body.input).toEqual([{ type: "message", role: "user", content: [{ type: "input_text", text: "hi [[words:3]]" }] }]);
  expect(r.id).toMatch(/^resp_[0-9a-f]{32}$/);
  expect(r.model).toBe("gpt-native");
  expect(r.output_text).toBe("alpha bravo charlie");
  expect(r.metadata).toEqual({ k: "v" });
  const row = ledgerRows(w.core).at(-1);
  expect(row.provider).toBe("native");
  expect(row.output_tokens).toBe(3);
  expect(row.input_tokens).toBe(3);
  expect(row.status).toBe("ok");
  expect((await w.client().responses.retrieve(r.id)).output_text).toBe("alpha bravo charlie");

  // Chained: the conversation goes inline (the provider stores nothing).
  await w.client().responses.create({ model: "gpt-native", input: "more", previous_response_id: r.id });
  expect(last().body.input.map((i: any) => i.role ?? i.type)).toEqual(["user", "assistant", "user"]);
  expect(last().body.input.every((i: any) => i.id === undefined)).toBe(true);
  expect(last().body.previous_response_id).toBeUndefined();
});

test("stream: the provider's events relayed with our id, metered from response.completed, stored", async () => {
  const s = await w.client().responses.create({ model: "gpt-native", input: "[[words:4]]", stream: true });
  const types: string[] = [];
  let done: any;
  let text = "";
  for await (const ev of s) {
    types.push(ev.type);
    if (ev.type === "response.output_text.delta") text += ev.delta;
    if (ev.type === "response.completed") done = ev.response;
    if ("response" in ev) expect((ev as any).response.id).toMatch(/^resp_[0-9a-f]{32}$/);
  }
  expect(types[0]).toBe("response.created");
  expect(types.at(-1)).toBe("response.completed");
  expect(text).toBe("alpha bravo charlie delta");
  expect(done.model).toBe("gpt-native");
  expect(last().body.stream).toBe(true);
  const row = ledgerRows(w.core).at(-1);
  expect(row.output_tokens).toBe(4);
  expect(row.stream).toBeTruthy();
  expect((await w.client().responses.retrieve(done.id)).status).toBe("completed");
});

test("tools pass through; the provider's errors come back in OpenAI's envelope and are not stored", async () => {
  const r = await w.client().responses.create({ model: "gpt-native", input: "[[tools]]", tools: [{ type: "function", name: "get_weather", parameters: { type: "object", properties: {} }, strict: false }] });
  expect(last().body.tools[0].name).toBe("get_weather");
  expect(r.output[0]!.type).toBe("function_call");
  const e = await errorOf(w.client().responses.create({ model: "gpt-native", input: "[[error:400]]" }));
  expect(e.status).toBe(400);
  const e2 = await errorOf(w.client().responses.create({ model: "gpt-native", input: "x", background: true } as any));
  expect(e2.status).toBe(400);
  expect(e2.error.param).toBe("background");
});

test("config: responses: true on a provider that is not of kind openai is refused, naming the key", async () => {
  const { testCore } = await import("../../helpers/core.ts");
  expect(() => testCore({ config: { providers: { c: { kind: "anthropic", baseUrl: "http://127.0.0.1:9", responses: true } } } })).toThrow(/providers\.c\.responses.*kind "openai"/s);
});
