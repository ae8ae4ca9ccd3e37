// POST /v1/messages and count_tokens through the official @anthropic-ai/sdk, against the fake
// provider speaking Messages natively (claude-x, kind "anthropic") and chat completions (gpt-4o-mini,
// kind "openai", translated): answers, the exact SSE sequence, tools, counting, x-api-key and bearer
// auth, Anthropic's error envelope, metering of cache reads and writes, quotas.
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { priceMicroUsd } from "../../../src/modules/usage/pricing.ts";
import { chatWorld, errorOf, ledgerRows, RATES, type ChatWorld } from "../../helpers/chat.ts";

let w: ChatWorld;
beforeAll(async () => {
  w = await chatWorld();
});
afterAll(() => w.close());

const sdk = (opts: { apiKey?: string | null; authToken?: string | null } = {}) =>
  new Anthropic({ apiKey: opts.apiKey === undefined ? w.token : opts.apiKey, authToken: opts.authToken ?? null, baseURL: w.gw.url, maxRetries: 0 });

const post = (body: unknown, headers: Record<string, string> = { "x-api-key": w.token }, path = "/v1/messages") =>
  fetch(`${w.gw.url}${path}`, { method: "POST", headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", ...headers }, body: JSON.stringify(body) });

/** The event names of an SSE body, in order. */
async function eventNames(res: Response): Promise<{ names: string[]; events: any[] }> {
  const text = await res.text();
  const names: string[] = [];
  const events: any[] = [];
  for (const block of text.split("\n\n")) {
    const ev = /^event: (.+)$/m.exec(block)?.[1];
    const data = /^data: (.+)$/m.exec(block)?.[1];
    if (!ev || !data) continue;
    names.push(ev);
    const parsed = JSON.parse(data);
    expect(parsed.type).toBe(ev);
    events.push(parsed);
  }
  return { names, events };
}

const lastUpstream = () => w.fake.requests.at(-1)!;

for (const model of ["claude-x", "gpt-4o-mini"]) {
  const native = model === "claude-x";
  describe(`${model} (${native ? "native" : "translated"})`, () => {
    test("messages.create with x-api-key: the answer, usage, and the ledger row charged at the rate card", async () => {
      const before = ledgerRows(w.core).length;
      const msg = await sdk().messages.create({ model, max_tokens: 100, messages: [{ role: "user", content: "hello there [[words:3]]" }] });
      expect(msg.type).toBe("message");
      expect(msg.role).toBe("assistant");
      expect(msg.model).toBe(model);
      expect(msg.content).toEqual([{ type: "text", text: "w0 w1 w2" } as any]);
      expect(msg.stop_reason).toBe("end_turn");
      expect(msg.usage.output_tokens).toBe(3);
      expect(msg.usage.input_tokens).toBe(3);
      const rows = ledgerRows(w.core);
      expect(rows.length).toBe(before + 1);
      const row = rows.at(-1);
      expect({ model: row.model, status: row.status, input: row.input_tokens, output: row.output_tokens }).toEqual({ model, status: "ok", input: 3, output: 3 });
      expect(row.cost_micro_usd).toBe(priceMicroUsd({ inputTokens: 3, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }, RATES));
      const up = lastUpstream();
      if (native) {
        expect(up.path).toBe("/v1/messages");
        expect(up.body.model).toBe("claude-upstream");
        expect(up.body.max_tokens).toBe(100);
        // The provider sees an opaque per-tenant id, never the tenant's own.
        expect(up.body.metadata.user_id).toMatch(/^oc-/);
      } else {
        expect(up.path).toBe("/v1/chat/completions");
        expect(up.body.model).toBe("fake-mini");
        expect(up.body.max_tokens).toBe(100);
        expect(up.body.user).toMatch(/^oc-/);
      }
    });

    test("bearer auth (ANTHROPIC_AUTH_TOKEN) works too; a wrong key is Anthropic's authentication_error", async () => {
      const msg = await sdk({ apiKey: null, authToken: w.token }).messages.create({ model, max_tokens: 20, messages: [{ role: "user", content: "hi [[words:1]]" }] });
      expect(msg.content[0]).toEqual({ type: "text", text: "w0" } as any);
      const err = await errorOf(sdk({ apiKey: "ocmu_acme_wrong" }).messages.create({ model, max_tokens: 20, messages: [{ role: "user", content: "hi" }] }));
      expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
      expect(err.status).toBe(401);
      expect(err.error).toEqual({ type: "error", error: { type: "authentication_error", message: "invalid or missing credentials" } });
    });

    test("stream: the exact event sequence, and the SDK's accumulated message", async () => {
      const res = await post({ model, max_tokens: 50, stream: true, messages: [{ role: "user", content: "stream please [[words:3]]" }] });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toStartWith("text/event-stream");
      const { names, events } = await eventNames(res);
      expect(names).toEqual(["message_start", "ping", "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
      expect(events[0].message.model).toBe(model);
      expect(events.filter((e) => e.type === "content_block_delta").map((e) => e.delta.text).join("")).toBe("w0 w1 w2");
      expect(events.at(-2).delta.stop_reason).toBe("end_turn");
      expect(events.at(-2).usage.output_tokens).toBe(3);
      const final = await sdk().messages.stream({ model, max_tokens: 50, messages: [{ role: "user", content: "again [[words:4]]" }] }).finalMessage();
      expect(final.content.map((b) => ({ type: b.type, text: (b as Anthropic.TextBlock).text }))).toEqual([{ type: "text", text: "w0 w1 w2 w3" }]);
      expect(final.usage.output_tokens).toBe(4);
      const row = ledgerRows(w.core).at(-1);
      expect({ status: row.status, stream: row.stream, output: row.output_tokens, error: row.error_code }).toEqual({ status: "ok", stream: 1, output: 4, error: null });
    });

    test("tools: a tool_use answer (JSON and stream), and the tool_result turn after it", async () => {
      const tools = [{ name: "get_weather", description: "Weather of a city", input_schema: { type: "object" as const, properties: { city: { type: "string" } }, required: ["city"] } }];
      const msg = await sdk().messages.create({ model, max_tokens: 100, tools, messages: [{ role: "user", content: "weather in Paris? [[tools]]" }] });
      expect(msg.stop_reason).toBe("tool_use");
      const use = msg.content.find((b) => b.type === "tool_use") as Anthropic.ToolUseBlock;
      expect({ name: use.name, input: use.input }).toEqual({ name: "get_weather", input: { city: "Paris" } });
      const streamed = await sdk().messages.stream({ model, max_tokens: 100, tools, messages: [{ role: "user", content: "weather in Paris? [[tools]]" }] }).finalMessage();
      expect(streamed.stop_reason).toBe("tool_use");
      expect((streamed.content.find((b) => b.type === "tool_use") as Anthropic.ToolUseBlock).input).toEqual({ city: "Paris" });
      const next = await sdk().messages.create({
        model,
        max_tokens: 100,
        tools,
        tool_choice: { type: "auto", disable_parallel_tool_use: true },
        messages: [
          { role: "user", content: "weather in Paris?" },
          { role: "assistant", content: [{ type: "tool_use", id: use.id, name: "get_weather", input: { city: "Paris" } }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "sunny" }, { type: "text", text: "thanks [[words:2]]" }] },
        ],
      });
      expect(next.content).toEqual([{ type: "text", text: "w0 w1" } as any]);
      const up = lastUpstream().body;
      if (native) expect(up.messages[2].content[0]).toEqual({ type: "tool_result", tool_use_id: use.id, content: "sunny" });
      else {
        expect(up.messages[1].tool_calls[0]).toEqual({ id: use.id, type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } });
        expect(up.messages[2]).toEqual({ role: "tool", tool_call_id: use.id, content: "sunny" });
        expect(up.parallel_tool_calls).toBe(false);
      }
    });

    test("count_tokens through the SDK", async () => {
      const before = ledgerRows(w.core).length;
      const out = await sdk().messages.countTokens({ model, messages: [{ role: "user", content: "one two three four" }] });
      expect(out.input_tokens).toBeGreaterThan(0);
      if (native) expect(out.input_tokens).toBe(4); // the provider's own count
      expect(ledgerRows(w.core).length).toBe(before); // counting is free
    });

    test("Anthropic's error envelope: an unknown field, an unknown model, a provider failure", async () => {
      const e1 = await errorOf(sdk().messages.create({ model, max_tokens: 10, messages: [{ role: "user", content: "x" }], service_tier: "auto" } as any));
      expect(e1).toBeInstanceOf(Anthropic.BadRequestError);
      expect(e1.error.type).toBe("error");
      expect(e1.error.error.type).toBe("invalid_request_error");
      expect(e1.error.error.message).toStartWith("service_tier: ");
      const e2 = await errorOf(sdk().messages.create({ model: "nope", max_tokens: 10, messages: [{ role: "user", content: "x" }] }));
      expect(e2).toBeInstanceOf(Anthropic.NotFoundError);
      expect(e2.error.error.type).toBe("not_found_error");
      const e3 = await errorOf(sdk().messages.create({ model, max_tokens: 10, messages: [{ role: "user", content: "x [[error:503]]" }] }));
      expect(e3.status).toBe(503);
      expect(e3.error.error.type).toBe("overloaded_error");
      expect(ledgerRows(w.core).at(-1).status).toBe("error");
    });

    test("a provider failing mid-stream ends the stream with an error event, and the row says so", async () => {
      const res = await post({ model, max_tokens: 50, stream: true, messages: [{ role: "user", content: "x [[words:6]] [[midstream-fail]]" }] });
      const { names, events } = await eventNames(res);
      expect(names[0]).toBe("message_start");
      expect(names.at(-1)).toBe("error");
      expect(events.at(-1).error.type).toBe("api_error");
      const row = ledgerRows(w.core).at(-1);
      expect(row.status).toBe("error");
      expect(row.input_tokens).toBeGreaterThan(0); // charged its input bound: the provider had the prompt
    });
  });
}

describe("metering and quotas", () => {
  test("cache reads and writes are priced at the rate card's cache rates (native)", async () => {
    const msg = await sdk().messages.create({
      model: "claude-x",
      max_tokens: 10,
      system: [{ type: "text", text: "a long stable system prompt", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: "hi [[words:2]] [[cache:100:40]]" }],
    });
    expect(msg.usage).toMatchObject({ cache_read_input_tokens: 100, cache_creation_input_tokens: 40 });
    const row = ledgerRows(w.core).at(-1);
    expect({ read: row.cache_read_tokens, write: row.cache_write_tokens }).toEqual({ read: 100, write: 40 });
    const usage = { inputTokens: row.input_tokens, outputTokens: 2, cacheReadTokens: 100, cacheWriteTokens: 40, reasoningTokens: 0 };
    expect(row.cost_micro_usd).toBe(priceMicroUsd(usage, RATES));
    expect(lastUpstream().body.system).toEqual([{ type: "text", text: "a long stable system prompt", cache_control: { type: "ephemeral" } }]);
  });

  test("a tenant over its daily tokens is refused with rate_limit_error before anything is sent", async () => {
    const q = await chatWorld({ quota: { tokensPerDay: 50 } });
    try {
      const client = new Anthropic({ apiKey: q.token, baseURL: q.gw.url, maxRetries: 0 });
      const sent = q.fake.requests.length;
      const err = await errorOf(client.messages.create({ model: "claude-x", max_tokens: 1000, messages: [{ role: "user", content: "x" }] }));
      expect(err).toBeInstanceOf(Anthropic.RateLimitError);
      expect(err.error.error.type).toBe("rate_limit_error");
      expect(q.fake.requests.length).toBe(sent);
    } finally {
      await q.close();
    }
  });

  test("x-api-key and a different bearer at once: neither is used (401)", async () => {
    const res = await post({ model: "claude-x", max_tokens: 5, messages: [{ role: "user", content: "x" }] }, { "x-api-key": w.token, authorization: "Bearer ocmu_acme_other" });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ type: "error", error: { type: "authentication_error", message: "invalid or missing credentials" } });
  });

  test("x-api-key is for the Messages API only: the OpenAI routes still want a bearer token", async () => {
    const res = await fetch(`${w.gw.url}/v1/chat/completions`, { method: "POST", headers: { "x-api-key": w.token, "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.code).toBe("invalid_api_key");
  });
});
