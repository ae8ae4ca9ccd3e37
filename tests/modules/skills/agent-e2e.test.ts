// End to end with the fake provider and the tenant's real bwrap sandbox: a tenant installs a skill
// and a plugin; its agent sees the skill listed in its system prompt, reads it (skill_read), runs
// the skill's script through exec (the skills folder read-only at /mnt/skills) and calls the plugin's
// tool (its command in the sandbox, the plugin read-only at /mnt/plugin, arguments on stdin). What
// is disabled, another tenant's, or not on the allow-list is not available.
import { afterEach, describe, expect, test } from "bun:test";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { goodPlugin, goodSkill } from "../../helpers/skill-packages.ts";
import { agentWorld, type AgentWorld } from "../agents/world.ts";

let w: AgentWorld | null = null;
afterEach(async () => {
  await w?.close?.();
  w = null;
});

const TOOLS = ["skill_read", "plugin__echoer__echo", "exec"];

describe("the agent uses a skill and a plugin in its sandbox", () => {
  test("skill_read, the skill's script through exec, the plugin's tool — all inside the tenant's sandbox", async () => {
    w = await agentWorld({ agents: { tools: TOOLS } });
    const acme = scope("acme");
    await w.core.skills.install(acme, "skill", { archive: await goodSkill("notes") }, operatorCtx);
    await w.core.skills.install(acme, "plugin", { archive: await goodPlugin("echoer") }, operatorCtx);
    w.fake.script([
      { toolCalls: [{ id: "c1", name: "skill_read", arguments: { name: "notes" } }] },
      { toolCalls: [{ id: "c2", name: "exec", arguments: { command: "sh /mnt/skills/notes/scripts/hello.sh; touch /mnt/skills/notes/x 2>&1 || echo read-only" } }] },
      { toolCalls: [{ id: "c3", name: "plugin__echoer__echo", arguments: { text: "hi" } }] },
      { text: "all done" },
    ]);
    const run = await w.turn({ sessionKey: "s1", message: "use your skill" });
    expect(run).toMatchObject({ status: "ok", text: "all done", steps: 4 });
    const calls = w.fake.requests.filter((r) => r.path.endsWith("/chat/completions"));
    expect(calls[0]!.body.tools.map((t: any) => t.function.name).sort()).toEqual(["exec", "plugin__echoer__echo", "skill_read"]);
    const system = calls[0]!.body.messages.find((m: any) => m.role === "system")?.content ?? "";
    expect(system).toContain("## Skills");
    expect(system).toContain("- notes: The notes skill.");
    const results = (await w.rpc("sessions.history", { sessionKey: "s1" })).result.entries.filter((e: any) => e.type === "tool_result");
    expect(results[0]).toMatchObject({ name: "skill_read", isError: false });
    expect(results[0].content).toContain("Instructions for notes.");
    expect(results[1]).toMatchObject({ name: "exec", isError: false });
    expect(results[1].content).toContain("hello from the skill");
    expect(results[1].content).toContain("read-only");
    expect(results[2]).toMatchObject({ name: "plugin__echoer__echo", isError: false });
    expect(results[2].content).toContain('plugin got: {"text":"hi"}');
  });

  test("a disabled plugin's tool and a skill of another tenant are not available; off the allow-list nothing is offered", async () => {
    w = await agentWorld({ agents: { tools: TOOLS } });
    const acme = scope("acme");
    await w.core.skills.install(acme, "plugin", { archive: await goodPlugin("echoer") }, operatorCtx);
    await w.core.skills.setEnabled(acme, "plugin", "echoer", false, operatorCtx);
    w.core.tenants.create({ id: "other" }, operatorCtx);
    await w.core.skills.install(scope("other"), "skill", { archive: await goodSkill("secret-skill") }, operatorCtx);
    w.fake.script([
      { toolCalls: [{ id: "c1", name: "plugin__echoer__echo", arguments: { text: "hi" } }, { id: "c2", name: "skill_read", arguments: { name: "secret-skill" } }] },
      { text: "ok" },
    ]);
    const run = await w.turn({ sessionKey: "s2", message: "try" });
    expect(run.status).toBe("ok");
    const calls = w.fake.requests.filter((r) => r.path.endsWith("/chat/completions"));
    expect(calls[0]!.body.tools.map((t: any) => t.function.name).sort()).toEqual(["exec", "skill_read"]);
    expect(JSON.stringify(calls[0]!.body.messages)).not.toContain("secret-skill");
    const results = (await w.rpc("sessions.history", { sessionKey: "s2" })).result.entries.filter((e: any) => e.type === "tool_result");
    expect(results[0]).toMatchObject({ isError: true, content: expect.stringContaining("not available to this agent") });
    expect(results[1]).toMatchObject({ isError: true, content: expect.stringContaining("NOT_FOUND: no enabled skill") });
  });

  test("the admin's enabled tools decide: a plugin's tool the admin does not name is never offered", async () => {
    w = await agentWorld({ agents: { tools: ["skill_read"] } });
    await w.core.skills.install(scope("acme"), "plugin", { archive: await goodPlugin("echoer") }, operatorCtx);
    w.fake.script([{ toolCalls: [{ id: "c1", name: "plugin__echoer__echo", arguments: {} }] }, { text: "ok" }]);
    await w.turn({ sessionKey: "s3", message: "try" });
    const calls = w.fake.requests.filter((r) => r.path.endsWith("/chat/completions"));
    expect(calls[0]!.body.tools.map((t: any) => t.function.name)).toEqual(["skill_read"]);
    const results = (await w.rpc("sessions.history", { sessionKey: "s3" })).result.entries.filter((e: any) => e.type === "tool_result");
    expect(results[0]).toMatchObject({ isError: true, content: expect.stringContaining("not available to this agent") });
  });
});
