// The Vercel AI SDK's default provider, `openai(model)`, speaks the Responses API: generateText,
// streamText, and a multi-step tool loop through the gateway, metered per step.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import { chatWorld, ledgerRows, type ChatWorld } from "../helpers/chat.ts";

let w: ChatWorld;
beforeAll(async () => {
  w = await chatWorld();
});
afterAll(() => w.close());

const provider = () => createOpenAI({ apiKey: w.token, baseURL: `${w.gw.url}/v1` });

test("generateText with openai(model)", async () => {
  const before = ledgerRows(w.core).length;
  const r = await generateText({ model: provider()("gpt-4o-mini"), prompt: "hello [[words:3]]", maxRetries: 0 });
  expect(r.text.split(" ")).toHaveLength(3);
  expect(r.usage.outputTokens).toBe(3);
  expect(w.fake.requests.at(-1)!.path).toBe("/v1/chat/completions");
  expect(ledgerRows(w.core).length).toBe(before + 1);
});

test("streamText with openai(model)", async () => {
  const r = streamText({ model: provider()("gpt-4o-mini"), prompt: "hello [[words:4]]", maxRetries: 0 });
  let text = "";
  for await (const t of r.textStream) text += t;
  expect(text.trim().split(/\s+/)).toHaveLength(4);
  expect((await r.usage).outputTokens).toBe(4);
});

test("a tool loop: the call, the tool's result sent back, the answer", async () => {
  let called = 0;
  w.fake.script("loop-marker", [{ toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }] }, { text: "It is sunny in Paris" }]);
  const r = await generateText({
    model: provider()("gpt-4o-mini"),
    prompt: "weather? loop-marker",
    maxRetries: 0,
    stopWhen: stepCountIs(2),
    tools: {
      get_weather: tool({
        description: "weather for a city",
        inputSchema: jsonSchema<{ city: string }>({ type: "object", properties: { city: { type: "string" } }, required: ["city"] }),
        execute: async ({ city }) => {
          called++;
          return `sunny in ${city}`;
        },
      }),
    },
  });
  expect(called).toBe(1);
  expect(r.steps).toHaveLength(2);
  const msgs = w.fake.requests.at(-1)!.body.messages;
  expect(msgs.map((m: any) => m.role)).toEqual(["user", "assistant", "tool"]);
  expect(msgs[2].content).toContain("sunny in Paris");
  expect(r.text).toBe("It is sunny in Paris");
});
