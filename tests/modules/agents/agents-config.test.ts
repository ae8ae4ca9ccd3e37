// Agents as configured: the tenant's `agents.<id>` within the admin's models, tools and ceilings
// (clear errors naming the field), the effective config over RPC, and the system prompt with the
// workspace's AGENTS.md and SOUL.md.
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { buildContext, turnsOf } from "../../../src/modules/agents/context.ts";
import { createTenant, operatorCtx, scope, testCore } from "../../helpers/core.ts";
import { agentWorld, type AgentWorld } from "./world.ts";

const config = {
  providers: { local: { kind: "openai", baseUrl: "http://127.0.0.1:1/v1" } },
  models: { a: { provider: "local", upstreamModel: "a", free: true }, b: { provider: "local", upstreamModel: "b", free: true } },
  agents: { tools: ["file_read", "exec"], ceilings: { maxSteps: 10 }, defaults: { limits: { maxSeconds: 30 } }, contextWindow: { default: 8000, models: { b: 200000 } } },
};

describe("overlay agents.<id>", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["a model outside the tenant's list", { models: { allow: ["a"] }, agents: { main: { model: "b" } } }, '"agents.main.model" "b" is not among the models this tenant may use'],
    ["a tool the admin does not enable", { agents: { bot: { tools: ["file_read", "http_fetch"] } } }, '"agents.bot.tools[1]" "http_fetch" is not a tool the gateway enables'],
    ["a limit above the ceiling", { agents: { main: { limits: { maxSteps: 11 } } } }, '"agents.main.limits.maxSteps" 11 exceeds the gateway\'s ceiling of 10'],
    ["a sandbox mode the admin does not allow", { agents: { main: { sandboxMode: "docker" } } }, '"agents.main.sandboxMode" "docker" is not allowed'],
    ["a prompt file outside the tenant", { agents: { main: { systemPromptFile: "../other/prompt.md" } } }, '"agents.main.systemPromptFile"'],
    ["the admin's defaults", { agents: { defaults: { model: "a" } } }, '"agents.defaults.model" is admin-only'],
    ["the admin's ceilings", { agents: { ceilings: { maxSteps: 1000 } } }, '"agents.ceilings.maxSteps" is admin-only'],
    ["a bad agent id", { agents: { "Bad Id": {} } }, '"agents[\"Bad Id\"]" is not a known key'],
    ["an unknown agent field", { agents: { main: { temperature: 1 } } }, '"agents.main.temperature" is not a known key'],
  ];
  test.each(cases)("%s is refused, naming the field", (_label, overlay, message) => {
    const core = testCore({ config });
    createTenant(core, "acme");
    expect(() => core.overlays.set(scope("acme"), overlay, operatorCtx)).toThrow(message);
    expect(fs.existsSync(core.overlays.path(scope("acme")))).toBe(false);
    core.close();
  });

  test("agents.list / agents.get: main by default; limits clamped to the ceilings; the context window by model", () => {
    const core = testCore({ config });
    createTenant(core, "acme");
    core.overlays.set(scope("acme"), { agent: { systemPrompt: "legacy prompt" }, agents: { bot: { model: "b", tools: ["exec"], limits: { maxSteps: 4 } } } }, operatorCtx);
    const agents = core.runs.agents(scope("acme"));
    expect(agents.map((a) => a.id)).toEqual(["main", "bot"]);
    expect(agents[0]).toMatchObject({ model: "a", systemPrompt: "legacy prompt", tools: ["file_read", "exec"], limits: { maxSteps: 10, maxSeconds: 30 }, contextWindow: 8000 });
    expect(agents[1]).toMatchObject({ model: "b", systemPrompt: null, tools: ["exec"], limits: { maxSteps: 4, maxSeconds: 30 }, contextWindow: 200000 });
    expect(() => core.runs.agentFor(scope("acme"), "ghost")).toThrow('agent "ghost" not found');
    core.close();
  });
});

let w: AgentWorld;
afterEach(async () => {
  await w?.close();
});

describe("the system prompt", () => {
  test("the agent's prompt file, then the workspace's AGENTS.md and SOUL.md; a planted link is not followed", async () => {
    w = await agentWorld();
    const dir = w.core.tenants.dir(scope("acme"));
    fs.writeFileSync(path.join(dir, "prompt.md"), "You are the file prompt.");
    w.core.overlays.set(scope("acme"), { agents: { main: { systemPromptFile: "prompt.md" } } }, operatorCtx);
    w.core.files.write(scope("acme"), "AGENTS.md", Buffer.from("Agents rules here."));
    fs.symlinkSync("/etc/hostname", path.join(dir, "workspace", "SOUL.md"));
    w.fake.script([{ text: "ok" }]);
    await w.turn({ sessionKey: "p", message: "hi" });
    const system = w.fake.requests[0]!.body.messages[0];
    expect(system.role).toBe("system");
    expect(system.content).toContain("You are the file prompt.");
    expect(system.content).toContain("## AGENTS.md\n\nAgents rules here.");
    expect(system.content).not.toContain("SOUL.md");
    expect(system.content).not.toContain(fs.readFileSync("/etc/hostname", "utf8").trim() || "nothing-to-find");
  });
});

describe("context", () => {
  test("oldest turns are dropped first; the system prompt and the current turn never", () => {
    const entries = Array.from({ length: 10 }, (_, i) => [
      { type: "user" as const, ts: i, runId: `r${i}`, content: `question ${i} ${"x".repeat(300)}` },
      { type: "assistant" as const, ts: i, runId: `r${i}`, text: `answer ${i}` },
    ]).flat();
    const history = turnsOf(entries);
    expect(history).toHaveLength(10);
    const current = [{ role: "user", content: "now ".repeat(200) }];
    const { messages, droppedTurns } = buildContext({ system: "SYSTEM", history, current, contextWindow: 1024, reserveOutput: 300 });
    expect(messages[0]).toEqual({ role: "system", content: "SYSTEM" });
    expect(messages.at(-1)).toBe(current[0]!);
    expect(droppedTurns).toBeGreaterThan(0);
    expect(droppedTurns).toBeLessThan(10);
    const kept = messages.filter((m) => m.role === "user" && m !== current[0]).map((m) => Number(String(m.content).split(" ")[1]));
    expect(kept).toEqual(Array.from({ length: 10 - droppedTurns }, (_, i) => droppedTurns + i));
    // Too small for any history: still the system prompt and the current turn.
    const tiny = buildContext({ system: "SYSTEM", history, current, contextWindow: 10, reserveOutput: 300 });
    expect(tiny.messages).toEqual([{ role: "system", content: "SYSTEM" }, current[0]!]);
  });

  test("a tool call left without a result (a run that ended mid-tool) is answered in the history", () => {
    const turns = turnsOf([
      { type: "user", ts: 1, runId: "r1", content: "go" },
      { type: "assistant", ts: 2, runId: "r1", text: "", toolCalls: [{ id: "c1", name: "exec", arguments: "{}" }] },
      { type: "abort", ts: 3, runId: "r1" },
    ]);
    expect(turns[0]!.at(-1)).toMatchObject({ role: "tool", tool_call_id: "c1" });
  });
});
