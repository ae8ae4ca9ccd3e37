// The admission bound covers every byte sent upstream, whichever field carries it, and a stream cut
// before the provider's closing usage is charged at least that bound plus the output it received.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chatWorld, ledgerRows, type ChatWorld } from "../../helpers/chat.ts";
import { scope } from "../../helpers/core.ts";

const BIG = 400_000; // bytes, so up to 400k tokens at the provider
const pad = (n = BIG) => "lorem ".repeat(Math.ceil(n / 6)).slice(0, n);
const schema = () => ({ type: "object", properties: { x: { type: "string", description: pad() } } });
const ask = [{ role: "user", content: "hi [[words:3]]" }];

/** Bodies that carry ~400k tokens outside the messages' text, for each provider kind. */
const CARRIERS: [string, string, Record<string, unknown>][] = [
  ["functions", "gpt-4o-mini", { functions: [{ name: "f", parameters: schema() }] }],
  ["response_format schema", "gpt-4o-mini", { response_format: { type: "json_schema", json_schema: { name: "s", schema: schema() } } }],
  ["tool parameters", "gpt-4o-mini", { tools: [{ type: "function", function: { name: "f", parameters: schema() } }] }],
  ["stop sequences", "gpt-4o-mini", { stop: [pad(BIG / 4), pad(BIG / 4), pad(BIG / 4), pad(BIG / 4)] }],
  ["logit_bias", "gpt-4o-mini", { logit_bias: Object.fromEntries(Array.from({ length: 40_000 }, (_, i) => [String(100_000 + i), 1])) }],
  ["prediction (enabled for the model)", "open-mini", { prediction: { type: "content", content: pad() } }],
  ["metadata (enabled for the model)", "open-mini", { metadata: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, pad(BIG / 16)])) }],
  ["an assistant's tool call arguments", "gpt-4o-mini", { messages: [{ role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: JSON.stringify({ a: pad() }) } }] }, ...ask] }],
  ["anthropic stop sequences", "claude-x", { stop: [pad(BIG / 4), pad(BIG / 4), pad(BIG / 4), pad(BIG / 4)] }],
  ["anthropic tool schema", "claude-x", { tools: [{ type: "function", function: { name: "f", parameters: schema() } }] }],
];

/** Fields the allow-list refuses outright (the bound would count them too, were they sent). */
const REFUSED: [string, Record<string, unknown>][] = [
  ["an unknown field", { x_padding: pad() }],
  ["prediction (not enabled)", { prediction: { type: "content", content: pad() } }],
  ["an image part that carries text", { messages: [{ role: "user", content: [{ type: "text", text: "hi" }, { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" }, text: pad() }] }] }],
  ["a message field the provider would read", { messages: [{ role: "user", content: "hi", x_extra: pad() }] }],
];

const extra = {
  models: { "open-mini": { provider: "local", upstreamModel: "fake-mini", passthrough: ["prediction", "metadata"] } },
};

describe("a 1,000-token/day tenant", () => {
  let w: ChatWorld;
  beforeAll(async () => {
    w = await chatWorld({ quota: { tokensPerDay: 1_000 }, config: extra });
  });
  afterAll(() => w.close());

  test.each(CARRIERS)("cannot get ~400k tokens in %s admitted (429 insufficient_quota, nothing sent)", async (_what, model, fields) => {
    const before = w.fake.requests.length;
    const res = await w.post({ model, messages: ask, max_tokens: 10, ...fields });
    const json = (await res.json()) as any;
    expect({ status: res.status, code: json.error?.code }).toEqual({ status: 429, code: "insufficient_quota" });
    expect(w.fake.requests.length).toBe(before);
  });

  test.each(REFUSED)("cannot send %s at all (400 naming it, nothing sent)", async (_what, fields) => {
    const before = w.fake.requests.length;
    const res = await w.post({ model: "gpt-4o-mini", messages: ask, max_tokens: 10, ...fields });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.param).toBeTruthy();
    expect(w.fake.requests.length).toBe(before);
  });

  test("a small request still fits, and nothing was used by the refused ones", async () => {
    const res = await w.post({ model: "gpt-4o-mini", messages: ask, max_tokens: 10 });
    expect(res.status).toBe(200);
    expect(w.core.quotaEngine.snapshot(scope("acme")).usedTokensToday).toBeLessThan(100);
  });
});

describe("what is bounded is what is sent", () => {
  let w: ChatWorld;
  beforeAll(async () => {
    w = await chatWorld({ config: extra });
  });
  afterAll(() => w.close());

  test.each(CARRIERS)("%s: the ledger's input bound is at least the bytes the provider received", async (_what, model, fields) => {
    const res = await w.post({ model, messages: ask, max_tokens: 10, ...fields });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const sent = Buffer.byteLength(JSON.stringify(w.fake.requests.at(-1)!.body));
    expect(sent).toBeGreaterThan(BIG / 2);
    expect(ledgerRows(w.core).at(-1).input_bound).toBeGreaterThanOrEqual(sent);
  });

  test("images count a fixed amount instead of their bytes, and only as images", async () => {
    const image = `data:image/png;base64,${"A".repeat(300_000)}`;
    for (const model of ["gpt-4o-mini", "claude-x"]) {
      const res = await w.post({ model, max_tokens: 10, messages: [{ role: "user", content: [{ type: "text", text: "what is it? [[words:2]]" }, { type: "image_url", image_url: { url: image } }] }] });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      const bound = ledgerRows(w.core).at(-1).input_bound;
      expect({ model, small: bound < 10_000 }).toEqual({ model, small: true });
    }
  });
});

describe("a stream cut before the provider's closing usage", () => {
  let w: ChatWorld;
  beforeAll(async () => {
    w = await chatWorld();
  });
  afterAll(() => w.close());

  // ~100k tokens of prompt in a field the old bound did not count (openai), and in the messages
  // (anthropic, whose message_start reports a partial count of its own).
  function body(model: string, directives: string): Record<string, unknown> {
    if (model === "claude-x") return { model, stream: true, messages: [{ role: "user", content: `${"x".repeat(100_000)} story ${directives}` }] };
    return { model, stream: true, messages: [{ role: "user", content: `story ${directives}` }], functions: [{ name: "f", parameters: { type: "object", description: pad(100_000) } }] };
  }
  const DIRECTIVES = { "at-headers": "[[words:40]] [[slow:60]]", "after-3-chunks": "[[words:40]] [[slow:60]]", "provider-fails": "[[words:40]] [[midstream-fail]]", "no-usage": "[[words:6]] [[no-usage]]" } as const;

  async function cut(model: string, how: keyof typeof DIRECTIVES): Promise<{ row: any; sent: number; received: string }> {
    const ac = new AbortController();
    const res = await w.post(body(model, DIRECTIVES[how]), w.token, { signal: ac.signal });
    expect(res.status).toBe(200);
    let received = "";
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    if (how === "at-headers") ac.abort();
    else if (how === "after-3-chunks") {
      for (let i = 0; i < 3; i++) received += dec.decode((await reader.read()).value);
      ac.abort();
    } else {
      for (;;) {
        const r = await reader.read().catch(() => ({ done: true as const, value: undefined }));
        if (r.done) break;
        received += dec.decode(r.value);
      }
    }
    for (let i = 0; i < 50 && ledgerRows(w.core).at(-1)?.status === "in_flight"; i++) await Bun.sleep(50);
    await Bun.sleep(300);
    return { row: ledgerRows(w.core).at(-1), sent: Buffer.byteLength(JSON.stringify(w.fake.requests.at(-1)!.body)), received };
  }

  // (An Anthropic stream without usage still reaches message_stop with message_start's input count:
  // a complete stream is charged what the provider reports.)
  const CASES: [string, keyof typeof DIRECTIVES][] = [
    ["gpt-4o-mini", "at-headers"],
    ["gpt-4o-mini", "after-3-chunks"],
    ["gpt-4o-mini", "provider-fails"],
    ["gpt-4o-mini", "no-usage"],
    ["claude-x", "at-headers"],
    ["claude-x", "after-3-chunks"],
    ["claude-x", "provider-fails"],
  ];

  test.each(CASES)("%s, cut %s: charged at least the whole input bound plus the output received", async (model, how) => {
    const { row, sent, received } = await cut(model, how);
    expect(sent).toBeGreaterThan(100_000);
    expect(row.input_bound).toBeGreaterThanOrEqual(sent);
    expect(row.status).not.toBe("in_flight");
    expect(row.input_tokens).toBeGreaterThanOrEqual(row.input_bound);
    expect(row.output_tokens).toBeGreaterThanOrEqual((received.match(/w\d+/g) ?? []).length);
    expect(row.cost_micro_usd).toBeGreaterThanOrEqual(row.input_bound);
    expect(w.core.quotaEngine.snapshot(scope("acme"))).toMatchObject({ inFlight: 0, reservedTokens: 0 });
  });

  test("a stream that completes is charged the provider's usage, not the bound", async () => {
    const res = await w.post({ model: "claude-x", stream: true, messages: [{ role: "user", content: "go [[words:4]]" }] });
    await res.text();
    const row = ledgerRows(w.core).at(-1);
    expect([row.status, row.input_tokens, row.output_tokens]).toEqual(["ok", 2, 4]);
  });
});

describe("a call that times out after the provider had it", () => {
  test("is charged what it reserved: the provider may have generated and billed the whole answer", async () => {
    const w = await chatWorld({
      config: {
        providers: { slow: { kind: "openai", baseUrl: "FAKE/v1", timeoutMs: 300 } },
        models: { "slow-mini": { provider: "slow", upstreamModel: "fake-mini" } },
      },
    });
    try {
      for (const stream of [false, true]) {
        const res = await w.post({ model: "slow-mini", stream, max_tokens: 50, messages: [{ role: "user", content: "a long answer [[words:50]] [[hang]]" }], functions: [{ name: "f", description: pad(20_000) }] });
        expect(res.status).toBe(504);
        const row = ledgerRows(w.core).at(-1);
        expect({ stream, status: row.status, code: row.error_code }).toEqual({ stream, status: "error", code: "UPSTREAM_TIMEOUT" });
        expect(row.input_tokens).toBeGreaterThanOrEqual(row.input_bound);
        expect(row.input_bound).toBeGreaterThan(20_000);
        expect(row.output_tokens).toBe(50);
        expect(row.total_tokens).toBe(row.reserved_tokens);
      }
      expect(w.core.quotaEngine.snapshot(scope("acme"))).toMatchObject({ inFlight: 0, reservedTokens: 0 });
    } finally {
      await w.close();
    }
  });
});
