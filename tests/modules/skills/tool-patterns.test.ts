// Tool entries ending in * (plugin__*, mcp__*): the admin enables a source's tools by pattern, an
// agent narrows them, the overlay's tools.allow bounds them; a tool is given only when every list
// names it. The default (no agents.tools) enables the built-ins only.
import { describe, expect, test } from "bun:test";
import { listCovers, toolMatches, TOOL_ENTRY_PATTERN } from "../../../src/config/agents-schema.ts";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { goodPlugin } from "../../helpers/skill-packages.ts";
import { agentWorld, type AgentWorld } from "../agents/world.ts";
import { afterEach } from "bun:test";

let w: AgentWorld | null = null;
afterEach(async () => {
  await w?.close?.();
  w = null;
});

const offered = (w: AgentWorld) => w.fake.requests.filter((r) => r.path.endsWith("/chat/completions")).at(-1)!.body.tools?.map((t: any) => t.function.name).sort() ?? [];

describe("tool entries with a trailing *", () => {
  test("matching and covering", () => {
    const re = new RegExp(TOOL_ENTRY_PATTERN);
    for (const ok of ["exec", "plugin__*", "mcp__github__*", "skill_read"]) expect(re.test(ok)).toBe(true);
    for (const bad of ["*", "plug*in", "a**", "Plugin__*", ""]) expect(re.test(bad)).toBe(false);
    expect(toolMatches("plugin__*", "plugin__echoer__echo")).toBe(true);
    expect(toolMatches("plugin__*", "exec")).toBe(false);
    expect(toolMatches("exec", "exec")).toBe(true);
    expect(listCovers(["plugin__*"], "plugin__echoer__*")).toBe(true);
    expect(listCovers(["plugin__echoer__*"], "plugin__*")).toBe(false);
    expect(listCovers(["plugin__*"], "plugin__echoer__echo")).toBe(true);
    expect(listCovers(["exec"], "exec*")).toBe(false);
  });

  async function withPlugins(agents: Record<string, unknown>, overlay?: Record<string, unknown>) {
    w = await agentWorld({ agents });
    const acme = scope("acme");
    await w.core.skills.install(acme, "plugin", { archive: await goodPlugin("echoer") }, operatorCtx);
    await w.core.skills.install(acme, "plugin", { archive: await goodPlugin("other") }, operatorCtx);
    if (overlay) w.core.overlays.set(acme, overlay, operatorCtx);
    w.fake.script([{ text: "ok" }]);
    await w.turn({ sessionKey: `s${Math.random()}`.replace(".", ""), message: "hi" });
    return offered(w);
  }

  test("the admin's plugin__* enables every plugin tool", async () => {
    expect(await withPlugins({ tools: ["exec", "plugin__*"] })).toEqual(["exec", "plugin__echoer__echo", "plugin__other__echo"]);
  });

  test("an agent narrows the admin's pattern to one plugin; the overlay's tools.allow bounds both", async () => {
    expect(await withPlugins({ tools: ["exec", "plugin__*"] }, { agents: { main: { tools: ["plugin__echoer__*"] } } })).toEqual(["plugin__echoer__echo"]);
  });

  test("tools.allow without the plugin's tools leaves none of them, whatever the agent names", async () => {
    expect(await withPlugins({ tools: ["exec", "plugin__*"] }, { tools: { allow: ["exec"] } })).toEqual(["exec"]);
  });

  test("an admin list without a source pattern gives no source tool, even to an agent that names one", async () => {
    w = await agentWorld({ agents: { tools: ["exec"] } });
    const bad = await w.rpc("config.patch", { patch: { agents: { main: { tools: ["plugin__*"] } } } }).catch((e) => e);
    expect(JSON.stringify(bad)).toMatch(/is not a tool the gateway enables/);
  });
});

describe("caps on what plugins offer", () => {
  test("at most 128 plugin tools reach a tenant's agents, whatever its plugins declare", async () => {
    const { testCore, createTenant } = await import("../../helpers/core.ts");
    const { craftTar, manifest } = await import("../../helpers/skill-packages.ts");
    const core = testCore();
    createTenant(core, "alpha");
    const tools = Array.from({ length: 64 }, (_, i) => ({ name: `t${i}`, description: "d", inputSchema: { type: "object" }, command: ["true"] }));
    for (const p of ["p1", "p2", "p3"]) await core.skills.install(scope("alpha"), "plugin", { archive: await craftTar([{ name: "openclaw.plugin.json", data: manifest(p, { tools }) }], { gzip: true }) }, operatorCtx);
    const names = core.agentTools.forTenant(scope("alpha")).map((t) => t.name);
    expect(names.filter((n) => n.startsWith("plugin__"))).toHaveLength(128);
    expect(names).toContain("plugin__p2__t63");
    expect(names).not.toContain("plugin__p3__t0");
    core.close();
  });
});
