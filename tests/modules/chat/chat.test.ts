// POST /v1/chat/completions and /v1/models through the official OpenAI SDK, against a fake provider
// speaking the real OpenAI and Anthropic wire formats.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { chatWorld, errorOf, ledgerRows, RATES, type ChatWorld } from "../../helpers/chat.ts";
import { scope } from "../../helpers/core.ts";

let w: ChatWorld;
beforeAll(async () => {
  w = await chatWorld();
});
afterAll(() => w.close());

const lastUpstream = () => w.fake.requests[w.fake.requests.length - 1]!;

describe("chat completions with the OpenAI SDK", () => {
  test.each(["gpt-4o-mini", "claude-x"])("non-streaming via %s", async (model) => {
    const r = await w.client().chat.completions.create({ model, messages: [{ role: "system", content: "be brief" }, { role: "user", content: "say it [[words:3]]" }] });
    expect(r.model).toBe(model);
    expect(r.choices[0]!.message.content).toBe("w0 w1 w2");
    expect(r.choices[0]!.finish_reason).toBe("stop");
    expect(r.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
    const up = lastUpstream();
    if (model === "gpt-4o-mini") {
      expect(up.path).toBe("/v1/chat/completions");
      expect(up.headers.authorization).toBe("Bearer sk-upstream");
      expect(up.body.model).toBe("fake-mini");
    } else {
      expect(up.path).toBe("/v1/messages");
      expect(up.headers["x-api-key"]).toBe("ak-upstream");
      expect(up.headers["anthropic-version"]).toBe("2023-06-01");
      expect(up.body).toMatchObject({ model: "claude-upstream", system: "be brief", max_tokens: 4096 });
    }
    expect(JSON.stringify(up.headers)).not.toContain(w.token);
  });

  test.each(["gpt-4o-mini", "claude-x"])("streaming via %s, usage chunk only when asked", async (model) => {
    const plain = await w.client().chat.completions.create({ model, stream: true, messages: [{ role: "user", content: "go [[words:4]]" }] });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const c of plain) chunks.push(c);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("")).toBe("w0 w1 w2 w3");
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(chunks.every((c) => c.model === model)).toBe(true);
    // The gateway asked the provider for usage anyway, and metered it.
    if (model === "gpt-4o-mini") expect(lastUpstream().body.stream_options).toEqual({ include_usage: true });
    const withUsage = await w.client().chat.completions.create({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "go [[words:4]]" }] });
    const last: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const c of withUsage) last.push(c);
    const usageChunk = last.at(-1)!;
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 });
    const rows = ledgerRows(w.core).filter((r) => r.model === model && r.stream === 1).slice(-2);
    expect(rows.map((r) => [r.status, r.input_tokens, r.output_tokens])).toEqual([
      ["ok", 2, 4],
      ["ok", 2, 4],
    ]);
  });

  test.each(["gpt-4o-mini", "claude-x"])("tool calls pass through via %s (stream and not)", async (model) => {
    const tools = [{ type: "function" as const, function: { name: "get_weather", description: "weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
    const r = await w.client().chat.completions.create({ model, tools, messages: [{ role: "user", content: "weather? [[tools]]" }] });
    expect(r.choices[0]!.finish_reason).toBe("tool_calls");
    expect(r.choices[0]!.message.tool_calls![0]).toMatchObject({ type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } });
    const s = await w.client().chat.completions.create({ model, tools, stream: true, messages: [{ role: "user", content: "weather? [[tools]]" }] });
    let args = "";
    let name = "";
    let finish: string | null = null;
    for await (const c of s) {
      const tc = c.choices[0]?.delta?.tool_calls?.[0];
      if (tc?.function?.name) name = tc.function.name;
      if (tc?.function?.arguments) args += tc.function.arguments;
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect({ name, args: JSON.parse(args), finish }).toEqual({ name: "get_weather", args: { city: "Paris" }, finish: "tool_calls" });
    // A follow-up turn with the tool result reaches the provider in its own format.
    await w.client().chat.completions.create({
      model,
      tools,
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
        { role: "tool", tool_call_id: "call_1", content: "sunny" },
      ],
    });
    const up = lastUpstream().body;
    if (model === "claude-x") {
      expect(up.messages[1].content[0]).toEqual({ type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } });
      expect(up.messages[2]).toEqual({ role: "user", content: [{ type: "tool_result", tool_use_id: "call_1", content: "sunny" }] });
    } else {
      expect(up.messages[2]).toEqual({ role: "tool", tool_call_id: "call_1", content: "sunny" });
    }
  });

  test("models: list and retrieve what the tenant may use", async () => {
    const list = await w.client().models.list();
    expect(list.data.map((m) => m.id)).toEqual(["gpt-4o-mini", "claude-x", "dead-model", "openclaw/main"]);
    expect((await w.client().models.retrieve("claude-x")).id).toBe("claude-x");
    expect((await errorOf(w.client().models.retrieve("gpt-5"))).status).toBe(404);
  });

  test("a tenant overlay narrows the models, never widens them", async () => {
    const token = w.core.tenants.create({ id: "narrow" }, { actor: { kind: "operator", id: "t" }, requestId: "r" }).token;
    w.core.overlays.set(scope("narrow"), { models: { allow: ["claude-x"], default: "claude-x" } }, { actor: { kind: "operator", id: "t" }, requestId: "r" });
    const c = w.client(token);
    expect((await c.models.list()).data.map((m) => m.id)).toEqual(["claude-x", "openclaw/main"]);
    const e = await errorOf(c.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }));
    expect([e.status, e.code]).toEqual([404, "model_not_found"]);
    // With no model named, the overlay's default is used.
    const res = await w.post({ messages: [{ role: "user", content: "x [[words:1]]" }] }, token);
    expect(((await res.json()) as any).model).toBe("claude-x");
    // Other tenants still see everything.
    expect((await w.client().models.list()).data).toHaveLength(4); // three models and the agent openclaw/main
  });

  test("the overlay's agent.maxTokens caps max_tokens", async () => {
    const token = w.core.tenants.create({ id: "capped" }, { actor: { kind: "operator", id: "t" }, requestId: "r" }).token;
    w.core.overlays.set(scope("capped"), { agent: { maxTokens: 7 } }, { actor: { kind: "operator", id: "t" }, requestId: "r" });
    await w.client(token).chat.completions.create({ model: "gpt-4o-mini", max_tokens: 500, messages: [{ role: "user", content: "x" }] });
    expect(lastUpstream().body.max_tokens).toBe(7);
    await w.client(token).chat.completions.create({ model: "gpt-4o-mini", max_completion_tokens: 3, messages: [{ role: "user", content: "x" }] });
    expect(lastUpstream().body).toMatchObject({ max_completion_tokens: 3 });
    expect(lastUpstream().body.max_tokens).toBeUndefined();
  });
});

describe("bad requests and provider failures", () => {
  test.each([
    [{ messages: [{ role: "user", content: "x" }] }, 400, "model"],
    [{ model: "gpt-4o-mini" }, 400, "messages"],
    [{ model: "gpt-4o-mini", messages: [] }, 400, "messages"],
    [{ model: "gpt-4o-mini", messages: [{ role: "wizard", content: "x" }] }, 400, "messages[0].role"],
    [{ model: "gpt-4o-mini", messages: [{ role: "user", content: 5 }] }, 400, "messages[0].content"],
    [{ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }], max_tokens: 0 }, 400, "max_tokens"],
    [{ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }], stream: "yes" }, 400, "stream"],
    [{ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }], n: 99 }, 400, "n"],
    [{ model: "claude-x", messages: [{ role: "user", content: "x" }], n: 2 }, 400, "n"],
    [{ model: "claude-x", messages: [{ role: "assistant", content: null, tool_calls: [{ id: "a", type: "function", function: { name: "f", arguments: "{bad" } }] }] }, 400, "messages[0].tool_calls[0].function.arguments"],
    [{ model: "unknown", messages: [{ role: "user", content: "x" }] }, 404, "model"],
  ])("%j → %i naming %s", async (body, status, param) => {
    const res = await w.post(body);
    const json = (await res.json()) as any;
    expect(res.status).toBe(status);
    expect(json.error.message).toContain(param === "model" && status === 404 ? "does not exist" : param);
    expect(json.error.param).toBe(param);
    expect(Object.keys(json.error).sort()).toEqual(["code", "message", "param", "type"]);
  });

  test("malformed JSON and oversized bodies", async () => {
    const bad = await fetch(`${w.gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${w.token}`, "content-type": "application/json" }, body: '{"model":' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.message).toContain("not valid JSON");
    const huge = await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(9 * 1024 * 1024) }] });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as any).error.type).toBe("invalid_request_error");
  });

  test.each([
    ["[[error:500]]", 502, "upstream_error"],
    ["[[error:503]]", 503, "unavailable"],
    ["[[error:429]]", 429, "rate_limit_exceeded"],
    ["[[error:401]]", 502, "upstream_error"],
    ["[[error:400]]", 400, "invalid_params"],
  ])("provider %s → %i %s, for both kinds, streaming or not", async (directive, status, code) => {
    for (const model of ["gpt-4o-mini", "claude-x"]) {
      for (const stream of [false, true]) {
        const res = await w.post({ model, stream, messages: [{ role: "user", content: directive }] });
        const json = (await res.json()) as any;
        expect({ model, stream, status: res.status, code: json.error.code }).toEqual({ model, stream, status, code });
        if (status === 429) expect(res.headers.get("retry-after")).toBe(model === "gpt-4o-mini" ? "7" : "1");
      }
    }
  });

  test("the SDK surfaces an upstream failure as an APIError", async () => {
    expect(await errorOf(w.client().chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "[[error:500]]" }] }))).toBeInstanceOf(OpenAI.APIError);
  });

  test("a refused connection is a 502, a silent provider a 504", async () => {
    const refused = await w.post({ model: "dead-model", messages: [{ role: "user", content: "x" }] });
    expect(refused.status).toBe(502);
    expect(((await refused.json()) as any).error.message).toContain('could not reach provider "dead"');
    const started = Date.now();
    const silent = await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "[[hang]]" }] });
    expect(silent.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(9_000);
    expect(((await silent.json()) as any).error.code).toBe("upstream_timeout");
  }, 20_000);

  test("a provider that fails mid-stream: an error event in the stream, the SDK throws, usage charged", async () => {
    const s = await w.client().chat.completions.create({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "[[words:10]] [[midstream-fail]]" }] });
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const c of s) got.push(c.choices[0]?.delta?.content ?? "");
      })(),
    ).rejects.toThrow();
    expect(got.join("")).toBe("w0 w1");
    const row = ledgerRows(w.core).at(-1);
    expect(row.status).toBe("error");
    expect(row.input_tokens).toBeGreaterThanOrEqual(3);
    expect(row.cost_micro_usd).toBeGreaterThan(0);
  });
});

describe("ledger rows", () => {
  test("one row per request with tokens, cost, rates, status, timing", async () => {
    await w.client().chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello [[words:4]] [[cache:10:6]]" }] });
    const row = ledgerRows(w.core).at(-1);
    expect(row).toMatchObject({ tenant_id: "acme", model: "gpt-4o-mini", provider: "local", upstream_model: "fake-mini", status: "ok", http_status: 200, stream: 0 });
    expect([row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_tokens]).toEqual([19, 4, 10, 6]);
    // (19-10-6)·1 + 10·0.5 + 6·1.25 + 4·2 = 3 + 5 + 7.5 + 8 = 23.5 → 24 µUSD
    expect(row.cost_micro_usd).toBe(24);
    expect(JSON.parse(row.rates)).toEqual(RATES);
    expect(row.ended_at).toBeGreaterThanOrEqual(row.started_at);
    expect(row.latency_ms).toBeGreaterThanOrEqual(0);
    expect(row.request_id).toMatch(/^req_/);
  });
});
