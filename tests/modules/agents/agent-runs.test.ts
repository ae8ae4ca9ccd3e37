// The agent loop: model → tools → model until an answer or a limit, through the chat service (the
// ledger rows carry the session and run), written to the transcript and published as events.
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { ledgerRows } from "../../helpers/chat.ts";
import { scope } from "../../helpers/core.ts";
import { agentWorld, type AgentWorld } from "./world.ts";

let w: AgentWorld;
afterEach(async () => {
  await w?.close();
});

describe("a turn with tools", () => {
  test("multi-step: the tool's result goes back to the model; transcript, events and ledger record every step", async () => {
    w = await agentWorld();
    w.fake.script([{ text: "Let me echo.", toolCalls: [{ id: "call_a", name: "echo_tool", arguments: { text: "hi" } }] }, { toolCalls: [{ id: "call_b", name: "echo_tool", arguments: { text: "again" } }] }, { text: "done: hi again" }]);
    const run = await w.turn({ sessionKey: "s1", message: "please echo", idempotencyKey: "k1" });
    expect(run).toMatchObject({ status: "ok", stopReason: "stop", text: "done: hi again", steps: 3 });
    expect(run.outputTokens).toBeGreaterThan(0);
    expect(run.costMicroUsd).toBeGreaterThan(0);

    // The model saw the tool results, answered to the right call ids.
    const calls = w.fake.requests.filter((r) => r.path.endsWith("/chat/completions"));
    expect(calls).toHaveLength(3);
    expect(calls[0]!.body.tools.map((t: any) => t.function.name).sort()).toEqual(["big_tool", "echo_tool", "file_read", "sleep_tool"]);
    expect(calls[2]!.body.messages.filter((m: any) => m.role === "tool")).toEqual([
      { role: "tool", tool_call_id: "call_a", content: "echo: hi" },
      { role: "tool", tool_call_id: "call_b", content: "echo: again" },
    ]);

    const h = (await w.rpc("sessions.history", { sessionKey: "s1" })).result;
    expect(h.entries.map((e: any) => e.type)).toEqual(["user", "assistant", "tool_call", "tool_result", "assistant", "tool_call", "tool_result", "assistant"]);
    for (const e of h.entries) expect(e).toMatchObject({ runId: run.runId, ts: expect.any(Number) });
    expect(h.entries[1]).toMatchObject({ model: "gpt-4o-mini", usage: { outputTokens: expect.any(Number) }, costMicroUsd: expect.any(Number) });
    expect(h.entries[3]).toMatchObject({ toolCallId: "call_a", name: "echo_tool", content: "echo: hi", isError: false, truncated: false });
    // The file is the session id's, never the client's key.
    const session = (await w.rpc("sessions.get", { sessionKey: "s1" })).result;
    expect(fs.existsSync(path.join(w.core.tenants.dir(scope("acme")), "sessions", `${session.sessionId}.jsonl`))).toBe(true);
    expect(fs.readdirSync(path.join(w.core.tenants.dir(scope("acme")), "sessions"))).toEqual([`${session.sessionId}.jsonl`]);

    const methods = w.events.map((e) => (e.method === "chat.tool" ? `chat.tool:${e.params.phase}` : e.method));
    expect(methods).toEqual(["sessions.changed", "chat.delta", "chat.tool:call", "chat.tool:result", "chat.tool:call", "chat.tool:result", "chat.delta", "chat.final"]);
    expect(w.events.at(-1)!.params).toMatchObject({ runId: run.runId, sessionKey: "s1", text: "done: hi again", stopReason: "stop", usage: { outputTokens: run.outputTokens } });

    const rows = ledgerRows(w.core).filter((r) => r.run_id === run.runId);
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(r).toMatchObject({ session_key: "s1", status: "ok", tenant_id: "acme" });
    expect(rows.reduce((n, r) => n + r.cost_micro_usd, 0)).toBe(run.costMicroUsd);

    // A retried send is the same run; the session's usage is summed.
    const again = await w.rpc("chat.send", { sessionKey: "s1", message: "please echo", idempotencyKey: "k1" });
    expect(again.result).toMatchObject({ runId: run.runId, deduped: true });
    expect((await w.rpc("sessions.usage", { sessionKey: "s1" })).result).toMatchObject({ runs: 1, costMicroUsd: run.costMicroUsd });
  });

  test("the same loop on an Anthropic model: tool_use out, tool_result back, through the translation", async () => {
    w = await agentWorld();
    w.core.overlays.set(scope("acme"), { agents: { main: { model: "claude-x" } } }, { actor: { kind: "operator", id: "t" }, requestId: "r" });
    w.fake.script([{ text: "Checking.", toolCalls: [{ id: "call_q", name: "echo_tool", arguments: { text: "anthropic" } }] }, { text: "done on claude" }]);
    const run = await w.turn({ sessionKey: "claude", message: "go" });
    expect(run).toMatchObject({ status: "ok", text: "done on claude", steps: 2 });
    const calls = w.fake.requests.filter((r) => r.path.endsWith("/messages"));
    expect(calls).toHaveLength(2);
    expect(calls[0]!.body.tools.map((t: any) => t.name)).toContain("echo_tool");
    const last = calls[1]!.body.messages.at(-1);
    expect(last.role).toBe("user");
    expect(last.content).toContainEqual(expect.objectContaining({ type: "tool_result", tool_use_id: "toolu_q", content: "echo: anthropic" }));
  });

  test("the next turn carries the session's history; a tool error goes back to the model and the run goes on", async () => {
    w = await agentWorld();
    w.fake.script([{ text: "first answer" }]);
    await w.turn({ sessionKey: "s2", message: "turn one" });
    w.fake.script([{ toolCalls: [{ id: "c1", name: "nope_tool", arguments: {} }, { id: "c2", name: "echo_tool", arguments: "{not json" }] }, { text: "recovered" }]);
    const run = await w.turn({ sessionKey: "s2", message: "turn two" });
    expect(run).toMatchObject({ status: "ok", text: "recovered" });
    const sent = w.fake.requests.at(-1)!.body.messages;
    expect(sent.map((m: any) => m.role)).toEqual(["user", "assistant", "user", "assistant", "tool", "tool"]);
    expect(sent[1].content).toBe("first answer");
    expect(sent[4].content).toContain('tool "nope_tool" is not available to this agent');
    expect(sent[5].content).toBe("the arguments are not valid JSON");
  });

  test("a tool's output past limits.toolOutputBytes is cut and marked truncated", async () => {
    w = await agentWorld();
    w.core.overlays.set(scope("acme"), { agents: { main: { limits: { toolOutputBytes: 1000 } } } }, { actor: { kind: "operator", id: "t" }, requestId: "r" });
    w.fake.script([{ toolCalls: [{ name: "big_tool", arguments: {} }] }, { text: "ok" }]);
    await w.turn({ sessionKey: "s3", message: "big" });
    const result = (await w.rpc("sessions.history", { sessionKey: "s3" })).result.entries.find((e: any) => e.type === "tool_result");
    expect(result.truncated).toBe(true);
    expect(result.content.length).toBeLessThan(1200);
    expect(result.content).toContain("[truncated: 100000 bytes");
  });
});

describe("limits end a run with a clear entry", () => {
  test("a runaway tool loop stops at limits.maxSteps", async () => {
    w = await agentWorld();
    w.core.overlays.set(scope("acme"), { agents: { main: { limits: { maxSteps: 3 } } } }, { actor: { kind: "operator", id: "t" }, requestId: "r" });
    w.fake.script(Array.from({ length: 10 }, () => ({ toolCalls: [{ name: "echo_tool", arguments: { text: "again" } }] })));
    const run = await w.turn({ sessionKey: "loop", message: "loop forever" });
    expect(run).toMatchObject({ status: "error", stopReason: "max_steps", errorCode: "STEP_LIMIT", steps: 3 });
    expect(w.fake.pending()).toBe(7);
    const entries = (await w.rpc("sessions.history", { sessionKey: "loop" })).result.entries;
    expect(entries.at(-1)).toMatchObject({ type: "error", code: "STEP_LIMIT", reason: "max_steps", runId: run.runId });
    expect(entries.at(-1).message).toContain("limit of 3 model calls");
    const err = w.events.find((e) => e.method === "chat.error")!;
    expect(err.params).toMatchObject({ runId: run.runId, sessionKey: "loop", code: "STEP_LIMIT" });
  });

  test("a quota reached mid-run (requests per minute) stops it with the quota's error", async () => {
    w = await agentWorld({ quota: { requestsPerMinute: 2 } });
    w.fake.script([{ toolCalls: [{ name: "echo_tool", arguments: { text: "1" } }] }, { toolCalls: [{ name: "echo_tool", arguments: { text: "2" } }] }, { text: "never" }]);
    const run = await w.turn({ sessionKey: "q", message: "go" });
    expect(run).toMatchObject({ status: "error", errorCode: "RATE_LIMITED", steps: 3 });
    expect(w.fake.requests).toHaveLength(2);
    const entries = (await w.rpc("sessions.history", { sessionKey: "q" })).result.entries;
    expect(entries.at(-1)).toMatchObject({ type: "error", code: "RATE_LIMITED" });
    expect(entries.filter((e: any) => e.type === "tool_result")).toHaveLength(2);
  });

  test("one run per session: a second send is refused with CONFLICT naming the run; abort ends it", async () => {
    w = await agentWorld();
    w.fake.script([{ text: "slow", delayMs: 5_000 }]);
    const first = await w.rpc("chat.send", { sessionKey: "busy", message: "one" });
    const second = await w.rpc("chat.send", { sessionKey: "busy", message: "two" });
    expect(second.error.data.code).toBe("CONFLICT");
    expect(second.error.message).toContain(first.result.runId);
    const t0 = performance.now();
    expect((await w.rpc("chat.abort", { sessionKey: "busy" })).result).toEqual({ runId: first.result.runId, aborted: true });
    const run = (await w.rpc("chat.wait", { runId: first.result.runId, timeoutMs: 10_000 })).result;
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(run).toMatchObject({ status: "aborted", stopReason: "aborted", errorCode: "ABORTED" });
    expect((await w.rpc("sessions.history", { sessionKey: "busy" })).result.entries.at(-1)).toMatchObject({ type: "abort", code: "ABORTED" });
    expect(ledgerRows(w.core).at(-1)).toMatchObject({ run_id: first.result.runId, status: "client_closed" });
  });
});
