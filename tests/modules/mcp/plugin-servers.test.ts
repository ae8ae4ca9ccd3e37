// A plugin's declared MCP server (openclaw.plugin.json mcpServers): the plugin installed through
// plugins.install from an archive holding a stdio server built with the SDK (fixtures/stdio-server.ts,
// bundled for Node), enabled, its tool called by the agent end to end (the fake provider standing in
// for the model) inside the tenant's bwrap sandbox with the plugin read-only at /mnt/plugin; listed by
// mcp.servers with its source; disabled → its tool is gone and its process stopped; another tenant
// sees none of it. Names: mcp__<plugin>-<server>__<tool>, 64 characters at most.
import path from "node:path";
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { operatorCtx, scope, testApp } from "../../helpers/core.ts";
import { craftTar } from "../../helpers/skill-packages.ts";
import { bundleStdioServer, mcpWorld, textOf, type McpWorld } from "./world.ts";

let bundle = "";
beforeAll(async () => {
  bundle = await bundleStdioServer();
});

let w: McpWorld | null = null;
afterEach(async () => {
  await w?.close();
  w?.core.close();
  w = null;
});

const TOOL = "mcp__srv-local__whoami";

function pluginArchive(name: string, servers: Record<string, unknown>): Promise<Buffer> {
  const manifest = { name, description: `The ${name} plugin.`, mcpServers: servers };
  return craftTar([{ name: "openclaw.plugin.json", data: JSON.stringify(manifest) }, { name: "server.mjs", data: bundle }], { gzip: true });
}

async function world(): Promise<McpWorld> {
  return mcpWorld({ config: { agents: { tools: ["mcp__*"] }, gateway: { mcp: { clientMaxReconnects: 2 } } } });
}

const offered = (w: McpWorld, i: number) => (w.fake.requests.filter((r) => r.path.endsWith("/chat/completions"))[i]!.body.tools ?? []).map((t: any) => t.function.name);

describe("a plugin's MCP server", () => {
  test("installed, enabled, called by the agent in the sandbox with the plugin read-only at /mnt/plugin; disabled: gone and stopped; beta sees none of it", async () => {
    w = await world();
    const h = testApp(w.core);
    const probe = path.join(w.core.home, "tenants", "beta");
    const archive = await pluginArchive("srv", { local: { command: ["node", "/mnt/plugin/server.mjs"], env: { PROBE_PATH: probe } } });
    const installed = await h.rpc(w.tokens.alpha, "plugins.install", { archive: archive.toString("base64") });
    expect(installed.error).toBeUndefined();
    expect(installed.result).toMatchObject({ name: "srv", status: "ok", enabled: true });

    w.fake.script([{ toolCalls: [{ name: TOOL, arguments: {} }] }, { text: "done" }]);
    const sent = await h.rpc(w.tokens.alpha, "chat.send", { sessionKey: "main", message: "who are you" });
    const done = await h.rpc(w.tokens.alpha, "chat.wait", { runId: sent.result.runId, timeoutMs: 30_000 });
    expect(done.result.status).toBe("ok");
    expect(offered(w, 0)).toEqual([TOOL, "mcp__srv-local__crash"]);
    const session = w.core.sessions.get(scope("alpha"), "main");
    const result = (w.core.sessions.entries(scope("alpha"), session.sessionId) as any[]).find((e) => e.type === "tool_result");
    expect(result).toMatchObject({ name: TOOL, isError: false });
    const seen = JSON.parse(result.content);
    // In the tenant's sandbox: /work, its own pid namespace, no host tenant directories; the plugin
    // folder at /mnt/plugin, read-only.
    expect(seen.cwd).toBe("/work");
    expect(seen.pid).toBeLessThan(100);
    expect(seen.tenants).toBe(false);
    expect(seen.plugin).toEqual(["openclaw.plugin.json", "server.mjs"]);
    expect(seen.pluginWritable).toBe(false);

    // mcp.servers lists it with its source, the tools passed on and the one whose name is too long.
    const servers = (await h.rpc(w.tokens.alpha, "mcp.servers", {})).result.servers;
    expect(servers).toEqual([
      {
        name: "srv-local",
        url: "sandbox: node /mnt/plugin/server.mjs",
        state: "connected",
        error: null,
        tools: [TOOL, "mcp__srv-local__crash"],
        skipped: ["a_tool_name_long_enough_that_with_any_mcp_prefix_it_passes_64"],
        source: "plugin",
        plugin: "srv",
      },
    ]);
    expect(w.core.sandbox.liveRuns("alpha")).toBe(1);

    // Beta: nothing listed, nothing reachable, not through /mcp either.
    expect((await h.rpc(w.tokens.beta, "mcp.servers", {})).result.servers).toEqual([]);
    const b = await w.connect(w.tokens.beta);
    expect((await b.listTools()).tools.map((t) => t.name).filter((n) => n.startsWith("mcp__"))).toEqual([]);
    const refused = await b.callTool({ name: TOOL, arguments: {} });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toBe(`NOT_FOUND: no tool named "${TOOL}"`);
    expect(w.core.sandbox.liveRuns("beta")).toBe(0);

    // Disabled: at the next run's start the server is stopped and its tools are gone.
    expect((await h.rpc(w.tokens.alpha, "plugins.disable", { name: "srv" })).result).toMatchObject({ name: "srv", enabled: false });
    w.fake.script([{ toolCalls: [{ name: TOOL, arguments: {} }] }, { text: "ok" }]);
    const again = await h.rpc(w.tokens.alpha, "chat.send", { sessionKey: "second", message: "again" });
    expect((await h.rpc(w.tokens.alpha, "chat.wait", { runId: again.result.runId, timeoutMs: 30_000 })).result.status).toBe("ok");
    expect(offered(w, 2)).toEqual([]);
    const second = w.core.sessions.get(scope("alpha"), "second");
    const gone = (w.core.sessions.entries(scope("alpha"), second.sessionId) as any[]).find((e) => e.type === "tool_result");
    expect(gone.isError).toBe(true);
    for (let i = 0; i < 200 && w.core.sandbox.liveRuns("alpha") > 0; i++) await Bun.sleep(25);
    expect(w.core.sandbox.liveRuns("alpha")).toBe(0);
    expect(w.core.mcpClients.kept("alpha")).toBe(0);
    expect((await h.rpc(w.tokens.alpha, "mcp.servers", {})).result.servers).toEqual([]);
  });

  test("a name the overlay already uses is the overlay's: the plugin's server is listed with the reason and never started", async () => {
    w = await world();
    w.write("alpha", "srv.mjs", bundle);
    w.core.overlays.set(scope("alpha"), { mcpServers: { "srv-local": { command: ["node", "srv.mjs"] } } }, operatorCtx);
    await w.core.skills.install(scope("alpha"), "plugin", { archive: await pluginArchive("srv", { local: { command: ["node", "/mnt/plugin/server.mjs"] } }) }, operatorCtx);
    const a = await w.connect(w.tokens.alpha);
    const seen = JSON.parse(textOf(await a.callTool({ name: TOOL, arguments: {} })));
    // The overlay's server answered: no plugin mounted.
    expect(seen.plugin).toBeNull();
    const status = w.core.mcpClients.status(scope("alpha"));
    expect(status.map((s) => [s.name, s.source, s.state])).toEqual([
      ["srv-local", "overlay", "connected"],
      ["srv-local", "plugin", "error"],
    ]);
    expect(status[1]!.error).toContain("already the overlay's server of that name");
    expect(w.core.sandbox.liveRuns("alpha")).toBe(1);
  });

  test("a plugin reinstalled over itself (replace) is another server: the running one is stopped and the new one started with the new files", async () => {
    w = await world();
    const servers = { local: { command: ["node", "/mnt/plugin/server.mjs"] } };
    await w.core.skills.install(scope("alpha"), "plugin", { archive: await pluginArchive("srv", servers) }, operatorCtx);
    const a = await w.connect(w.tokens.alpha);
    expect(JSON.parse(textOf(await a.callTool({ name: TOOL, arguments: {} }))).plugin).toEqual(["openclaw.plugin.json", "server.mjs"]);
    const manifest = { name: "srv", description: "The srv plugin, again.", mcpServers: servers };
    const v2 = await craftTar([{ name: "openclaw.plugin.json", data: JSON.stringify(manifest) }, { name: "server.mjs", data: bundle }, { name: "NEW", data: "2" }], { gzip: true });
    await w.core.skills.install(scope("alpha"), "plugin", { archive: v2, replace: true }, operatorCtx);
    expect(JSON.parse(textOf(await a.callTool({ name: TOOL, arguments: {} }))).plugin).toEqual(["NEW", "openclaw.plugin.json", "server.mjs"]);
    expect(w.core.mcpClients.kept("alpha")).toBe(1);
    for (let i = 0; i < 200 && w.core.sandbox.liveRuns("alpha") > 1; i++) await Bun.sleep(25);
    expect(w.core.sandbox.liveRuns("alpha")).toBe(1);
    // Removed: its tool is gone at once, its process stopped at the next /mcp request.
    await w.core.skills.remove(scope("alpha"), "plugin", "srv", operatorCtx);
    expect((await a.listTools()).tools.map((t) => t.name).filter((n) => n.startsWith("mcp__"))).toEqual([]);
    for (let i = 0; i < 200 && w.core.sandbox.liveRuns("alpha") > 0; i++) await Bun.sleep(25);
    expect(w.core.sandbox.liveRuns("alpha")).toBe(0);
    expect(w.core.mcpClients.kept("alpha")).toBe(0);
  });

  test("caps: at most 8 servers in a manifest (refused at install), at most 16 plugin servers used per tenant (the rest listed with the reason, never started)", async () => {
    w = await world();
    const small = (name: string, n: number) => {
      const servers = Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i}`, { command: ["/bin/sh", "/mnt/plugin/run.sh"] }]));
      return craftTar([{ name: "openclaw.plugin.json", data: JSON.stringify({ name, description: "many servers", mcpServers: servers }) }, { name: "run.sh", data: "cat\n" }], { gzip: true });
    };
    const nine = await testApp(w.core).rpc(w.tokens.alpha, "plugins.install", { archive: (await small("nine", 9)).toString("base64") });
    expect(nine.error?.message ?? "").toContain("openclaw.plugin.json at /mcpServers");
    for (const p of ["p1", "p2", "p3"]) await w.core.skills.install(scope("alpha"), "plugin", { archive: await small(p, 8) }, operatorCtx);
    const status = w.core.mcpClients.status(scope("alpha"));
    expect(status.length).toBe(24);
    expect(status.filter((s) => s.state === "idle").map((s) => s.plugin)).toEqual([...Array(8).fill("p1"), ...Array(8).fill("p2")]);
    const refused = status.filter((s) => s.state === "error");
    expect(refused.map((s) => s.plugin)).toEqual(Array(8).fill("p3"));
    expect(refused[0]!.error).toContain("declare more than 16 MCP servers");
    // Only the first 16 are ever started: nothing of p3's is in the tenant's tools.
    await w.core.agentTools.prepare(scope("alpha"), new AbortController().signal);
    expect(w.core.mcpClients.kept("alpha")).toBe(16);
    await w.core.mcpClients.closeTenant("alpha");
  });

  test("a plugin whose server's tool prefix leaves no room within 64 characters is refused at install, with the reason", async () => {
    w = await world();
    const long = "a-plugin-with-a-rather-long-name-for-tools";
    const archive = await pluginArchive(long, { "and-a-longer-server": { command: ["node", "/mnt/plugin/server.mjs"] } });
    const r = await testApp(w.core).rpc(w.tokens.alpha, "plugins.install", { archive: archive.toString("base64") });
    expect(r.error?.message ?? "").toContain(`mcp__${long}-and-a-longer-server__<tool>, longer than 64 characters`);
    expect((await testApp(w.core).rpc(w.tokens.alpha, "plugins.list", {})).result.items).toEqual([]);
  });
});
