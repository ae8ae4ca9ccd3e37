// The Responses API through the gateway with the official openai SDK: create (JSON and stream), function
// tools and function_call_output, previous_response_id, retrieve, delete, input_items, store: false,
// retention, caps, and another tenant's ids answered exactly like unknown ones.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/core/clock.ts";
import { chatWorld, createTenant, errorOf, ledgerRows, type ChatWorld } from "../../helpers/chat.ts";
import { scope } from "../../helpers/core.ts";

let w: ChatWorld;
const clock = new ManualClock(Date.UTC(2026, 11, 7, 12));
const TOOLS = [{ type: "function" as const, name: "get_weather", description: "weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }, strict: false }];

beforeAll(async () => {
  w = await chatWorld({ clock, config: { responses: { retentionDays: 1 } } });
});
afterAll(() => w.close());

const lastUpstream = () => w.fake.requests[w.fake.requests.length - 1]!;

describe("responses.create", () => {
  test("non-streaming: output text, usage, the public model, a ledger row, and stored", async () => {
    const r = await w.client().responses.create({ model: "gpt-4o-mini", input: "say [[words:3]]", instructions: "be brief" });
    expect(r.object).toBe("response");
    expect(r.id).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(r.status).toBe("completed");
    expect(r.model).toBe("gpt-4o-mini");
    expect(r.output_text.split(" ")).toHaveLength(3);
    expect(r.usage?.output_tokens).toBe(3);
    expect(r.usage?.input_tokens).toBeGreaterThan(0);
    const up = lastUpstream();
    expect(up.path).toBe("/v1/chat/completions");
    expect(up.body.model).toBe("fake-mini");
    expect(up.body.messages).toEqual([
      { role: "system", content: "be brief" },
      { role: "user", content: "say [[words:3]]" },
    ]);
    const row = ledgerRows(w.core).at(-1);
    expect(row.status).toBe("ok");
    expect(row.output_tokens).toBe(3);
    expect(row.tenant_id).toBe("acme");
    const again = await w.client().responses.retrieve(r.id);
    expect(again.id).toBe(r.id);
    expect(again.output).toEqual(r.output);
  });

  test("streaming: the typed event sequence, sequence numbers, and a completed response", async () => {
    const stream = await w.client().responses.create({ model: "gpt-4o-mini", input: "[[words:4]]", stream: true });
    const types: string[] = [];
    const seqs: number[] = [];
    let text = "";
    let completed: any;
    for await (const ev of stream) {
      types.push(ev.type);
      seqs.push(ev.sequence_number);
      if (ev.type === "response.output_text.delta") text += ev.delta;
      if (ev.type === "response.completed") completed = ev.response;
    }
    expect(types.slice(0, 4)).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
    expect(types.slice(-4)).toEqual(["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]);
    expect(types.filter((t) => t === "response.output_text.delta").length).toBeGreaterThan(0);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect(text.trim().split(/\s+/)).toHaveLength(4);
    expect(completed.status).toBe("completed");
    expect(completed.usage.output_tokens).toBe(4);
    expect(completed.output[0].content[0].text).toBe(text);
    // Stored before response.completed was sent.
    expect((await w.client().responses.retrieve(completed.id)).status).toBe("completed");
  });

  test("function tools, then function_call_output chained by previous_response_id (JSON and stream)", async () => {
    const first = await w.client().responses.create({ model: "gpt-4o-mini", input: "weather? [[tools]]", tools: TOOLS });
    const call = first.output.find((o) => o.type === "function_call") as any;
    expect(call).toBeDefined();
    expect(call.name).toBe("get_weather");
    expect(JSON.parse(call.arguments)).toBeObject();
    expect(lastUpstream().body.tools).toEqual([{ type: "function", function: { name: "get_weather", description: "weather", parameters: TOOLS[0]!.parameters, strict: false } }]);

    const stream = await w.client().responses.create({ model: "gpt-4o-mini", previous_response_id: first.id, input: [{ type: "function_call_output", call_id: call.call_id, output: "sunny [[words:2]]" }], tools: TOOLS, stream: true });
    let done: any;
    for await (const ev of stream) if (ev.type === "response.completed") done = ev.response;
    expect(done.previous_response_id).toBe(first.id);
    const msgs = lastUpstream().body.messages;
    expect(msgs[0]).toEqual({ role: "user", content: "weather? [[tools]]" });
    expect(msgs[1].role).toBe("assistant");
    expect(msgs[1].tool_calls[0].id).toBe(call.call_id);
    expect(msgs[2]).toEqual({ role: "tool", tool_call_id: call.call_id, content: "sunny [[words:2]]" });

    // A streamed tool call: function_call_arguments events, and the item in the final output.
    const s2 = await w.client().responses.create({ model: "gpt-4o-mini", input: "again [[tools]]", tools: TOOLS, stream: true });
    const types: string[] = [];
    let fin: any;
    for await (const ev of s2) {
      types.push(ev.type);
      if (ev.type === "response.completed") fin = ev.response;
    }
    expect(types).toContain("response.function_call_arguments.delta");
    expect(types).toContain("response.function_call_arguments.done");
    expect(fin.output.some((o: any) => o.type === "function_call" && o.name === "get_weather" && JSON.parse(o.arguments))).toBe(true);
  });

  test("previous_response_id carries the conversation; instructions are not inherited", async () => {
    const a = await w.client().responses.create({ model: "gpt-4o-mini", input: "one", instructions: "first only" });
    const b = await w.client().responses.create({ model: "gpt-4o-mini", input: "two", previous_response_id: a.id });
    const msgs = lastUpstream().body.messages;
    expect(msgs.map((m: any) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(msgs[1].content).toBe(a.output_text);
    await w.client().responses.create({ model: "gpt-4o-mini", input: "three", previous_response_id: b.id });
    expect(lastUpstream().body.messages.map((m: any) => m.content)).toEqual(["one", a.output_text, "two", b.output_text, "three"]);
  });

  test("input_items: normalized items with ids, paged both ways", async () => {
    const r = await w.client().responses.create({ model: "gpt-4o-mini", input: [{ role: "user", content: "a" }, { role: "assistant", content: "b" }, { role: "user", content: [{ type: "input_text", text: "c" }] }] });
    const page = await w.client().responses.inputItems.list(r.id, { limit: 2 });
    expect(page.data.map((i: any) => i.content[0].text)).toEqual(["c", "b"]);
    expect(page.has_more).toBe(true);
    const all: string[] = [];
    for await (const it of w.client().responses.inputItems.list(r.id, { limit: 1, order: "asc" })) all.push((it as any).content[0].text);
    expect(all).toEqual(["a", "b", "c"]);
    const e = await errorOf(w.client().responses.inputItems.list(r.id, { limit: 1000 }));
    expect(e.status).toBe(400);
  });

  test("delete, store: false, and retention", async () => {
    const r = await w.client().responses.create({ model: "gpt-4o-mini", input: "x" });
    const d = await w.client().responses.delete(r.id);
    expect(d).toBeDefined();
    expect((await errorOf(w.client().responses.retrieve(r.id))).status).toBe(404);
    expect((await errorOf(w.client().responses.delete(r.id))).status).toBe(404);

    const n = await w.client().responses.create({ model: "gpt-4o-mini", input: "x", store: false });
    expect((n as any).store).toBe(false);
    expect((await errorOf(w.client().responses.retrieve(n.id))).status).toBe(404);
    const count = (w.core.handle.sqlite.query("SELECT count(*) AS n FROM stored_responses WHERE id = ?1").get(n.id) as { n: number }).n;
    expect(count).toBe(0);

    const old = await w.client().responses.create({ model: "gpt-4o-mini", input: "x" });
    clock.advance(86_400_000 + 1);
    expect((await errorOf(w.client().responses.retrieve(old.id))).status).toBe(404);
    const e = await errorOf(w.client().responses.create({ model: "gpt-4o-mini", input: "y", previous_response_id: old.id }));
    expect(e.status).toBe(404);
    expect(e.error.param).toBe("previous_response_id");
  });

  test("bad input is a 400 naming the field, with nothing sent upstream", async () => {
    const before = w.fake.requests.length;
    for (const [body, param] of [
      [{ model: "gpt-4o-mini", input: "x", background: true }, "background"],
      [{ model: "gpt-4o-mini", input: [{ type: "web_search_call" }] }, "input[0].type"],
      [{ model: "gpt-4o-mini", input: "x", tools: [{ type: "web_search" }] }, "tools[0].type"],
      [{ model: "gpt-4o-mini", input: [{ role: "user", content: [{ type: "input_file", file_id: "f" }] }] }, "input[0].content[0].type"],
      [{ model: "gpt-4o-mini" }, "input"],
      [{ model: "gpt-4o-mini", input: "x", max_output_tokens: 0 }, "max_output_tokens"],
    ] as const) {
      const e = await errorOf(w.client().responses.create(body as any));
      expect(e.status).toBe(400);
      expect(e.error.param).toBe(param);
    }
    expect(w.fake.requests.length).toBe(before);
  });
});

describe("isolation and caps", () => {
  test("another tenant's response id is answered exactly like an unknown one", async () => {
    const r = await w.client().responses.create({ model: "gpt-4o-mini", input: "secret" });
    const other = createTenant(w.core, "globex");
    const unknown = `resp_${"0".repeat(32)}`;
    for (const path of [`/v1/responses/${r.id}`, `/v1/responses/${r.id}/input_items`]) {
      const theirs = await fetch(`${w.gw.url}${path}`, { headers: { authorization: `Bearer ${other}` } });
      const none = await fetch(`${w.gw.url}${path.replace(r.id, unknown)}`, { headers: { authorization: `Bearer ${other}` } });
      expect(theirs.status).toBe(404);
      expect((await theirs.text()).replace(r.id, "ID")).toBe((await none.text()).replace(unknown, "ID"));
    }
    const del = await fetch(`${w.gw.url}/v1/responses/${r.id}`, { method: "DELETE", headers: { authorization: `Bearer ${other}` } });
    expect(del.status).toBe(404);
    const chained = await errorOf(w.client(other).responses.create({ model: "gpt-4o-mini", input: "x", previous_response_id: r.id }));
    expect(chained.status).toBe(404);
    expect((await w.client().responses.retrieve(r.id)).id).toBe(r.id);
  });

  test("the stored-responses caps refuse, before anything runs, a request that asks to store", async () => {
    const capped = await chatWorld({ config: { responses: { maxStoredPerTenant: 1 } } });
    try {
      await capped.client().responses.create({ model: "gpt-4o-mini", input: "x" });
      const before = capped.fake.requests.length;
      const e = await errorOf(capped.client().responses.create({ model: "gpt-4o-mini", input: "x" }));
      expect(e.status).toBe(429);
      expect(e.headers.get("x-should-retry")).toBe("false");
      expect(e.message).toContain("responses.maxStoredPerTenant");
      expect(capped.fake.requests.length).toBe(before);
      const n = await capped.client().responses.create({ model: "gpt-4o-mini", input: "x", store: false });
      expect(n.status).toBe("completed");
    } finally {
      await capped.close();
    }
  });

  test("a previous_response_id chain cannot rebuild a conversation larger than a client may send", async () => {
    const small = await chatWorld({ config: { gateway: { limits: { chatBodyBytes: 6000 } } } });
    try {
      const big = "word ".repeat(500); // 2500 bytes: one body fits, the stored chain grows past 6000
      const a = await small.client().responses.create({ model: "gpt-4o-mini", input: big });
      const b = await small.client().responses.create({ model: "gpt-4o-mini", input: big, previous_response_id: a.id });
      const before = small.fake.requests.length;
      const e = await errorOf(small.client().responses.create({ model: "gpt-4o-mini", input: "x", previous_response_id: b.id }));
      expect(e.status).toBe(413);
      expect(e.error.param).toBe("previous_response_id");
      expect(e.message).toContain("gateway.limits.chatBodyBytes");
      expect(small.fake.requests.length).toBe(before);
    } finally {
      await small.close();
    }
  });

  test("a stream that outlives its tenant (deleted, created again under the id) stores nothing for the new one", async () => {
    const x = await chatWorld({ tenant: "reuse" });
    try {
      const stream = await x.client().responses.create({ model: "gpt-4o-mini", input: "[[words:6]] [[slow:150]]", stream: true });
      const ctx = { actor: { kind: "operator" as const, id: "t" }, requestId: "r" };
      let id = "";
      let replaced = false;
      let fresh = "";
      for await (const ev of stream) {
        if (ev.type === "response.created") id = ev.response.id;
        if (ev.type === "response.output_text.delta" && !replaced) {
          replaced = true;
          x.core.tenants.remove(scope("reuse"), ctx);
          fresh = x.core.tenants.create({ id: "reuse" }, ctx).token;
        }
      }
      expect(replaced).toBe(true);
      x.core.responsesWriter.flush();
      expect(x.core.handle.sqlite.query("SELECT count(*) AS n FROM stored_responses WHERE id = ?1").get(id)).toEqual({ n: 0 });
      expect((await errorOf(x.client(fresh).responses.retrieve(id))).status).toBe(404);
    } finally {
      await x.close();
    }
  });

  test("expired responses do not count against the cap", async () => {
    const c = new ManualClock(Date.UTC(2026, 11, 7, 12));
    const capped = await chatWorld({ clock: c, config: { responses: { maxStoredPerTenant: 1, retentionDays: 1 } } });
    try {
      await capped.client().responses.create({ model: "gpt-4o-mini", input: "x" });
      expect((await errorOf(capped.client().responses.create({ model: "gpt-4o-mini", input: "x" }))).status).toBe(429);
      c.advance(86_400_000 + 1);
      const r = await capped.client().responses.create({ model: "gpt-4o-mini", input: "x" });
      expect((await capped.client().responses.retrieve(r.id)).id).toBe(r.id);
    } finally {
      await capped.close();
    }
  });
});

describe("failures", () => {
  test("a provider that fails mid-stream ends the stream with response.failed, and nothing is stored", async () => {
    const stream = await w.client().responses.create({ model: "gpt-4o-mini", input: "[[words:20]] [[midstream-fail]]", stream: true });
    const types: string[] = [];
    let failed: any;
    let id = "";
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === "response.created") id = ev.response.id;
      if (ev.type === "response.failed") failed = ev.response;
    }
    expect(types.at(-1)).toBe("response.failed");
    expect(failed.status).toBe("failed");
    expect(failed.error.message.length).toBeGreaterThan(0);
    expect((await errorOf(w.client().responses.retrieve(id))).status).toBe(404);
    expect(ledgerRows(w.core).at(-1).status).toBe("error");
  });

  test("a refusal before the stream (quota) is an OpenAI error, not a stream", async () => {
    const q = await chatWorld({ quota: { requestsPerMinute: 1 } });
    try {
      await q.client().responses.create({ model: "gpt-4o-mini", input: "x" });
      const e = await errorOf(q.client().responses.create({ model: "gpt-4o-mini", input: "x", stream: true }));
      expect(e.status).toBe(429);
    } finally {
      await q.close();
    }
  });
});
