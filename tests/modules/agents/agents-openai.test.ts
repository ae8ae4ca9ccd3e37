// The agents on the OpenAI surface, driven by the official `openai` SDK: model "openclaw/<agentId>".
import { afterEach, describe, expect, test } from "bun:test";
import { errorOf } from "../../helpers/chat.ts";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { agentWorld, type AgentWorld } from "./world.ts";

let w: AgentWorld;
afterEach(async () => {
  await w?.close();
});

describe("openclaw/<agentId> with the OpenAI SDK", () => {
  test("models list the tenant's agents; a completion runs the agent's tools and answers with its final text", async () => {
    w = await agentWorld();
    w.core.overlays.set(scope("acme"), { agents: { helper: { tools: ["echo_tool"] } } }, operatorCtx);
    const client = w.client();
    const ids = (await client.models.list()).data.map((m) => m.id);
    expect(ids).toContain("openclaw/main");
    expect(ids).toContain("openclaw/helper");
    expect((await client.models.retrieve("openclaw/helper")).id).toBe("openclaw/helper");

    w.fake.script([{ toolCalls: [{ name: "echo_tool", arguments: { text: "sdk" } }] }, { text: "the answer" }]);
    const r = await client.chat.completions.create({ model: "openclaw/helper", messages: [{ role: "user", content: "hi" }] });
    expect(r.choices[0]!.message.content).toBe("the answer");
    expect(r.usage!.completion_tokens).toBeGreaterThan(0);
    expect(w.fake.requests[1]!.body.messages.at(-1)).toMatchObject({ role: "tool", content: "echo: sdk" });
    // Without a session header each call gets a fresh session, which is the tenant's to find.
    const sessions = w.core.sessions.list(scope("acme")).sessions;
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.key).toMatch(/^oai-/);
    expect(sessions[0]!.agentId).toBe("helper");
  });

  test("x-openclaw-session-key continues a session; streaming answers in chat.completion.chunk events", async () => {
    w = await agentWorld();
    const client = w.client();
    w.fake.script([{ text: "first" }, { text: "second streamed" }]);
    await client.chat.completions.create({ model: "openclaw/main", messages: [{ role: "user", content: "one" }] }, { headers: { "x-openclaw-session-key": "oa:1" } });
    const stream = await client.chat.completions.create({ model: "openclaw/main", messages: [{ role: "user", content: "two" }], stream: true, stream_options: { include_usage: true } }, { headers: { "x-openclaw-session-key": "oa:1" } });
    let text = "";
    let usage: any = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("second streamed");
    expect(usage.completion_tokens).toBeGreaterThan(0);
    // The second call's model request carried the first turn.
    expect(w.fake.requests[1]!.body.messages.map((m: any) => m.content)).toEqual(["one", "first", "two"]);
    expect(w.core.sessions.get(scope("acme"), "oa:1").runs).toBe(2);
  });

  test("an unknown agent is the model's 404; a bad session key is a 400 naming it", async () => {
    w = await agentWorld();
    const client = w.client();
    const e = await errorOf(client.chat.completions.create({ model: "openclaw/ghost", messages: [{ role: "user", content: "x" }] }));
    expect(e.status).toBe(404);
    const bad = await errorOf(client.chat.completions.create({ model: "openclaw/main", messages: [{ role: "user", content: "x" }] }, { headers: { "x-openclaw-session-key": "Bad Key" } }));
    expect(bad.status).toBe(400);
    expect(bad.message).toContain("sessionKey");
  });

  test("a client that goes away mid-stream leaves the run going: its answer is in the session", async () => {
    w = await agentWorld();
    w.fake.script([{ text: "slow answer", delayMs: 600 }]);
    const stop = new AbortController();
    const res = await fetch(`${w.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${w.token}`, "content-type": "application/json", "x-openclaw-session-key": "gone" },
      body: JSON.stringify({ model: "openclaw/main", stream: true, messages: [{ role: "user", content: "hi" }] }),
      signal: stop.signal,
    });
    const reader = res.body!.getReader();
    await reader.read(); // the role chunk
    stop.abort();
    for (let i = 0; i < 100 && w.core.runs.activeCount("acme") > 0; i++) await Bun.sleep(20);
    const entries = w.core.sessions.history(scope("acme"), "gone").entries;
    expect(entries.map((e) => e.type)).toEqual(["user", "assistant"]);
    expect(entries[1]).toMatchObject({ text: "slow answer" });
  });
});

describe("sessions the gateway makes per call", () => {
  test("at the session cap the oldest idle per-call session makes room, audited; a named session is never removed, and with only named ones the cap is a clear error", async () => {
    w = await agentWorld({ agents: { maxSessionsPerTenant: 3 } });
    const client = w.client();
    w.fake.script([{ text: "named" }]);
    await w.turn({ sessionKey: "keep", message: "hi" });
    const made: string[] = [];
    for (let i = 0; i < 4; i++) {
      w.fake.script([{ text: `call ${i}` }]);
      const raw = await client.chat.completions.create({ model: "openclaw/main", messages: [{ role: "user", content: `q${i}` }] }).withResponse();
      expect(raw.data.choices[0]!.message.content).toBe(`call ${i}`);
      made.push(raw.response.headers.get("x-openclaw-session-key")!);
    }
    const keys = w.core.sessions.list(scope("acme")).sessions.map((s) => s.key).sort();
    expect(keys).toEqual(["keep", ...made.slice(-2)].sort());
    const evictions = w.core.audit.query({ tenant: "acme", action: "sessions.delete" });
    expect(evictions.map((r: any) => r.target.id).sort()).toEqual(made.slice(0, 2).sort());
    for (const r of evictions) expect(String(r.details?.reason)).toContain("per-call");

    // Only named sessions at the cap: a named one is refused clearly, and nothing is removed.
    w.core.sessions.delete(scope("acme"), made[2]!, operatorCtx);
    w.core.sessions.delete(scope("acme"), made[3]!, operatorCtx);
    for (const k of ["n1", "n2"]) {
      w.fake.script([{ text: "ok" }]);
      await w.turn({ sessionKey: k, message: "hi" });
    }
    const refused = await w.rpc("chat.send", { sessionKey: "n3", message: "hi" });
    expect(refused.error?.data?.code).toBe("QUOTA_EXCEEDED");
    expect(w.core.sessions.list(scope("acme")).sessions.map((s) => s.key).sort()).toEqual(["keep", "n1", "n2"]);
  });
});

