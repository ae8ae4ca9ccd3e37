// Billing of the attempts reliable routing leaves behind (red-team finding F1 of issue 15): an attempt
// that timed out after the provider had the request, or a stream that began and broke before its first
// event, may be billed by the provider although another attempt serves the call. Each is charged to the
// tenant by the rule a call ending that way is charged (a timeout: its whole reservation; a broken
// stream: its input bound), on top of what the serving attempt reported — for every surface.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chatWorld, ledgerRows, type ChatWorld } from "../../helpers/chat.ts";

let w: ChatWorld;
/** A provider that answers a stream's headers (and an SSE comment), then breaks before any event. */
let cutter: ReturnType<typeof Bun.serve>;
let cutterRequests = 0;
beforeAll(async () => {
  cutter = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      cutterRequests++;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode(": accepted\n\n"));
          setTimeout(() => c.error(new Error("cut")), 30);
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    },
  });
  w = await chatWorld({
    config: {
      providers: {
        slowA: { kind: "openai", baseUrl: "FAKE/v1", apiKey: "sk-a", timeoutMs: 5_000, firstByteTimeoutMs: 300 },
        slowB: { kind: "openai", baseUrl: "FAKE/v1", apiKey: "sk-b", timeoutMs: 5_000 },
        claudeA: { kind: "anthropic", baseUrl: `http://127.0.0.1:${cutter.port}`, apiKey: "ak-a", timeoutMs: 5_000 },
        claudeB: { kind: "anthropic", baseUrl: "FAKE", apiKey: "ak-b", timeoutMs: 5_000 },
      },
      models: {
        twice: { provider: "slowA", upstreamModel: "fake-a", fallbacks: [{ provider: "slowB", upstreamModel: "fake-b" }] },
        "claude-twice": { provider: "claudeA", upstreamModel: "claude-a", fallbacks: [{ provider: "claudeB", upstreamModel: "claude-b" }] },
        "claude-cut": { provider: "claudeA", upstreamModel: "claude-a" },
      },
      billing: { rateCard: { twice: { input: 1, output: 2 }, "claude-twice": { input: 1, output: 2 }, "claude-cut": { input: 1, output: 2 }, "gpt-4o-mini": { input: 1, output: 2 }, "claude-x": { input: 1, output: 2 } } },
    },
  });
});
afterAll(async () => {
  await w.close();
  cutter.stop(true);
});

const lastRow = (model: string) => ledgerRows(w.core).filter((r) => r.model === model).at(-1);

describe("attempts left behind by routing are charged", () => {
  test("chat: a first deployment that timed out after taking the request is charged its reservation beside the fallback's usage", async () => {
    const before = w.fake.requests.length;
    w.fake.fault("hang");
    const out = await w.client().chat.completions.create({ model: "twice", max_tokens: 40, messages: [{ role: "user", content: "hello [[words:3]]" }] });
    expect(out.choices[0]!.message.content).toBe("w0 w1 w2");
    expect(w.fake.requests.slice(before).map((r) => r.body.model)).toEqual(["fake-a", "fake-b"]);
    const row = lastRow("twice");
    expect(row.status).toBe("ok");
    expect(row.deployment).toBe("slowB/fake-b");
    // The timed-out attempt: the whole input bound and output cap; the served one: what it reported.
    expect(row.input_tokens).toBe(row.input_bound + out.usage!.prompt_tokens);
    expect(row.output_tokens).toBe(40 + out.usage!.completion_tokens);
    expect(row.cost_micro_usd).toBe(row.input_tokens * 1 + row.output_tokens * 2);
  });

  test("/v1/messages: a native stream whose response began and broke before its first event is charged its input bound beside the fallback's usage", async () => {
    const before = w.fake.requests.length;
    const cutBefore = cutterRequests;
    const r = await fetch(`${w.gw.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": w.token, "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: "claude-twice", max_tokens: 30, stream: true, messages: [{ role: "user", content: "hi [[words:2]]" }] }),
    });
    const text = await r.text();
    expect(text).toContain("event: message_stop");
    const reported = Number(/"input_tokens":(\d+)/.exec(text)![1]);
    expect(cutterRequests).toBe(cutBefore + 1);
    expect(w.fake.requests.slice(before).map((x) => x.body.model)).toEqual(["claude-b"]);
    const row = lastRow("claude-twice");
    expect(row.status).toBe("ok");
    expect(row.deployment).toBe("claudeB/claude-b");
    // The broken attempt: its input bound; the served one: what it reported.
    expect(row.input_tokens).toBe(row.input_bound + reported);
    expect(row.output_tokens).toBe(2);
  });

  test("a stream whose only attempt began and broke before its first event is charged its input bound, as a stream cut later is", async () => {
    const r = await fetch(`${w.gw.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": w.token, "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: "claude-cut", max_tokens: 30, stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(r.status).toBeGreaterThanOrEqual(500);
    await r.text();
    const row = lastRow("claude-cut");
    expect(row.status).toBe("error");
    expect(row.input_tokens).toBe(row.input_bound);
    expect(row.output_tokens).toBe(0);
  });

  test("a fallback after a refusal the provider does not bill (a 5xx answer) charges only the served attempt", async () => {
    w.fake.fault({ status: 500 });
    const out = await w.client().chat.completions.create({ model: "twice", max_tokens: 40, messages: [{ role: "user", content: "hello [[words:3]]" }] });
    const row = lastRow("twice");
    expect(row.deployment).toBe("slowB/fake-b");
    expect(row.input_tokens).toBe(out.usage!.prompt_tokens);
    expect(row.output_tokens).toBe(3);
  });
});
