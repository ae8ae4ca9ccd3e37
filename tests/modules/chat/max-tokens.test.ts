// The output cap reaching the provider (issue 15 §7): no field the client did not send, unless the
// gateway must hold the output to what it reserved; the field the model takes where configured.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chatWorld, ledgerRows, type ChatWorld } from "../../helpers/chat.ts";
import { scope } from "../../helpers/core.ts";

let w: ChatWorld;
beforeAll(async () => {
  w = await chatWorld({
    config: {
      models: {
        limited: { provider: "local", upstreamModel: "fake-mini", maxOutputTokens: 16_000 },
        reasoner: { provider: "local", upstreamModel: "fake-o", maxOutputTokens: 32_000, maxTokensField: "max_completion_tokens" },
      },
      billing: { rateCard: { limited: { input: 1, output: 2 }, reasoner: { input: 1, output: 2 }, "gpt-4o-mini": { input: 1, output: 2 }, "claude-x": { input: 1, output: 2 } } },
    },
  });
});
afterAll(() => w.close());

const last = () => w.fake.requests.at(-1)!.body;
const ask = [{ role: "user" as const, content: "x [[words:2]]" }];

describe("max_tokens reaching the provider", () => {
  test("a request without a cap reaches a model with a declared limit without one, and reserves that limit", async () => {
    const r = await w.client().chat.completions.create({ model: "limited", messages: ask });
    expect(r.choices[0]!.message.content).toBe("w0 w1");
    expect(last().max_tokens).toBeUndefined();
    expect(last().max_completion_tokens).toBeUndefined();
    expect(ledgerRows(w.core).at(-1).reserved_tokens).toBeGreaterThanOrEqual(16_000);
  });

  test("a reasoning model gets max_completion_tokens, never max_tokens, whichever the client sent", async () => {
    await w.client().chat.completions.create({ model: "reasoner", max_tokens: 100, messages: ask });
    expect(last().max_completion_tokens).toBe(100);
    expect(last().max_tokens).toBeUndefined();
    await w.client().chat.completions.create({ model: "reasoner", messages: ask });
    expect(last().max_tokens).toBeUndefined();
    expect(last().max_completion_tokens).toBeUndefined();
  });

  test("the client's field is kept as sent where the model sets none", async () => {
    await w.client().chat.completions.create({ model: "limited", max_completion_tokens: 50, messages: ask });
    expect(last()).toMatchObject({ max_completion_tokens: 50 });
    expect(last().max_tokens).toBeUndefined();
  });

  test("a cap is still sent where the gateway must hold the output: tenant cap, default cap", async () => {
    const token = w.core.tenants.create({ id: "capped" }, { actor: { kind: "operator", id: "t" }, requestId: "r" }).token;
    w.core.overlays.set(scope("capped"), { agent: { maxTokens: 7 } }, { actor: { kind: "operator", id: "t" }, requestId: "r" });
    await w.client(token).chat.completions.create({ model: "reasoner", messages: ask });
    expect(last().max_completion_tokens).toBe(7);
    // gpt-4o-mini declares no limit: the gateway's default cap is its own and must be sent.
    await w.client().chat.completions.create({ model: "gpt-4o-mini", messages: ask });
    expect(last().max_tokens).toBe(4096);
  });
});
