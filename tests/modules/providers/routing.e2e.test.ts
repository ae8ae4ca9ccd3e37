// Reliable routing through the gateway (issue 15 §5): a dead provider fails over for chat completions
// and /v1/messages, streaming or not; the ledger records which deployment served; /metrics counts the
// attempts per provider and model; a mid-stream failure is a failure in the ledger and the log.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { adminKey } from "../../helpers/core.ts";
import { chatWorld, ledgerRows, type ChatWorld } from "../../helpers/chat.ts";

let w: ChatWorld;
beforeAll(async () => {
  w = await chatWorld({
    config: {
      providers: { second: { kind: "openai", baseUrl: "FAKE/v1", apiKey: "sk-second", timeoutMs: 5_000 }, claude2: { kind: "anthropic", baseUrl: "FAKE", apiKey: "ak-2", timeoutMs: 5_000 } },
      models: {
        robust: { provider: "dead", upstreamModel: "nothing", fallbacks: [{ provider: "second", upstreamModel: "fake-second" }] },
        "claude-robust": { provider: "claude", upstreamModel: "claude-upstream", fallbacks: [{ provider: "claude2", upstreamModel: "claude-second" }] },
      },
      billing: { rateCard: { robust: { input: 1, output: 2 }, "claude-robust": { input: 1, output: 2 }, "gpt-4o-mini": { input: 1, output: 2 }, "claude-x": { input: 1, output: 2 } } },
    },
  });
});
afterAll(() => w.close());

const metrics = async () => (await fetch(`${w.gw.url}/metrics`, { headers: { authorization: `Bearer ${adminKey(w.core)}` } })).text();

describe("failover through the gateway", () => {
  test("chat completions on a model whose first deployment is dead are served by the next; the ledger names it", async () => {
    const client = w.client();
    const out = await client.chat.completions.create({ model: "robust", messages: [{ role: "user", content: "hello" }] });
    expect(out.choices[0]!.message.content).toBe("w0 w1 w2 w3 w4");
    expect(out.model).toBe("robust");
    const stream = await client.chat.completions.create({ model: "robust", messages: [{ role: "user", content: "hello" }], stream: true });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
    expect(text).toBe("w0 w1 w2 w3 w4");
    const rows = ledgerRows(w.core).filter((r) => r.model === "robust");
    expect(rows.map((r) => [r.status, r.deployment, r.provider])).toEqual([
      ["ok", "second/fake-second", "dead"],
      ["ok", "second/fake-second", "dead"],
    ]);
    expect(rows.every((r) => r.input_tokens > 0)).toBe(true);
    const text2 = await metrics();
    expect(text2).toContain('openclaw_upstream_attempts_total{provider="dead",model="robust",deployment="dead/nothing",key="",outcome="error"} 2');
    expect(text2).toContain('openclaw_upstream_attempts_total{provider="second",model="robust",deployment="second/fake-second",key="",outcome="ok"} 2');
    expect(text2).toContain('openclaw_upstream_fallbacks_total{model="robust"} 2');
  });

  test("/v1/messages (native Anthropic) fails over on a 529 before the first byte, streaming or not", async () => {
    const before = w.fake.requests.length;
    w.fake.fault({ status: 529 });
    const r = await fetch(`${w.gw.url}/v1/messages`, { method: "POST", headers: { "x-api-key": w.token, "content-type": "application/json", "anthropic-version": "2023-06-01" }, body: JSON.stringify({ model: "claude-robust", max_tokens: 50, messages: [{ role: "user", content: "hi" }] }) });
    expect(r.status).toBe(200);
    const msg = (await r.json()) as any;
    expect(msg.model).toBe("claude-robust");
    expect(w.fake.requests.slice(before).map((x) => x.body.model)).toEqual(["claude-upstream", "claude-second"]);
    w.fake.fault({ status: 529 });
    const s = await fetch(`${w.gw.url}/v1/messages`, { method: "POST", headers: { "x-api-key": w.token, "content-type": "application/json", "anthropic-version": "2023-06-01" }, body: JSON.stringify({ model: "claude-robust", max_tokens: 50, stream: true, messages: [{ role: "user", content: "hi" }] }) });
    expect(await s.text()).toContain("event: message_stop");
    const rows = ledgerRows(w.core).filter((x) => x.model === "claude-robust");
    expect(rows.map((x) => [x.status, x.deployment])).toEqual([
      ["ok", "claude2/claude-second"],
      ["ok", "claude2/claude-second"],
    ]);
  });

  test("a mid-stream failure is an error in the ledger and a warning in /metrics, not a 200 success", async () => {
    w.fake.fault("midstream");
    const r = await w.post({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "hi" }] });
    expect(await r.text()).toContain('"code":"upstream_error"');
    const row = ledgerRows(w.core).at(-1)!;
    expect([row.model, row.status, row.deployment]).toEqual(["gpt-4o-mini", "error", "local/fake-mini"]);
    expect(await metrics()).toContain('openclaw_upstream_attempts_total{provider="local",model="gpt-4o-mini",deployment="local/fake-mini",key="",outcome="midstream_error"} 1');
  });

  test("a model without fallbacks answers as before: the provider's error, one attempt", async () => {
    const before = w.fake.requests.length;
    w.fake.fault({ status: 503 });
    const r = await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    expect(r.status).toBe(503);
    expect(w.fake.requests.length).toBe(before + 1);
    expect(ledgerRows(w.core).at(-1)!.deployment).toBeNull();
  });
});
