// A stdio MCP server built with the SDK (fixtures/stdio-server.ts, bundled for Node) running inside the
// tenant's bwrap sandbox: started on first use, called by the agent end to end (the fake provider
// standing in for the model) and through the tenant's /mcp, restarted after a crash within a bound,
// ended when the tenant stops. What it sees is the sandbox: /work is the workspace, the host's
// tenant directories are not there.
import path from "node:path";
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { operatorCtx, scope, testApp } from "../../helpers/core.ts";
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

async function world(): Promise<McpWorld> {
  const world = await mcpWorld({ config: { agents: { tools: ["file_read", "mcp__local__whoami", "mcp__local__crash"] }, gateway: { mcp: { clientMaxReconnects: 2 } } } });
  world.write("alpha", "mcp/server.mjs", bundle);
  const probe = path.join(world.core.home, "tenants", "beta");
  world.core.overlays.set(scope("alpha"), { mcpServers: { local: { command: ["node", "mcp/server.mjs"], env: { PROBE_PATH: probe } } } }, operatorCtx);
  return world;
}

describe("stdio MCP server in the sandbox", () => {
  test("the agent calls its tool end to end; the server runs in the tenant's sandbox; beta has none of it", async () => {
    w = await world();
    w.fake.script([{ toolCalls: [{ name: "mcp__local__whoami", arguments: {} }] }, { text: "done" }]);
    const h = testApp(w.core);
    const sent = await h.rpc(w.tokens.alpha, "chat.send", { sessionKey: "main", message: "who are you" });
    const done = await h.rpc(w.tokens.alpha, "chat.wait", { runId: sent.result.runId, timeoutMs: 30_000 });
    expect(done.result.status).toBe("ok");
    const session = w.core.sessions.get(scope("alpha"), "main");
    const result = (w.core.sessions.entries(scope("alpha"), session.sessionId) as any[]).find((e) => e.type === "tool_result");
    expect(result.isError).toBe(false);
    const seen = JSON.parse(result.content);
    expect(seen.cwd).toBe("/work");
    expect(seen.workspace).toContain("mcp");
    // The host's tenant directories are not in the sandbox's view; its pid namespace is its own.
    expect(seen.tenants).toBe(false);
    expect(seen.pid).toBeLessThan(100);
    expect(w.core.mcpClients.status(scope("alpha"))[0]).toMatchObject({ name: "local", state: "connected", tools: ["mcp__local__whoami", "mcp__local__crash"] });
    // The same server through alpha's /mcp; beta lists none of it.
    const a = await w.connect(w.tokens.alpha);
    expect(JSON.parse(textOf(await a.callTool({ name: "mcp__local__whoami", arguments: {} }))).cwd).toBe("/work");
    const b = await w.connect(w.tokens.beta);
    expect((await b.listTools()).tools.map((t) => t.name).filter((n) => n.startsWith("mcp__"))).toEqual([]);
    // The tenant stopping ends the server's process.
    w.core.tenants.suspend(scope("alpha"), operatorCtx);
    for (let i = 0; i < 200 && w.core.sandbox.liveRuns("alpha") > 0; i++) await Bun.sleep(25);
    expect(w.core.sandbox.liveRuns("alpha")).toBe(0);
    expect(w.core.mcpClients.status(scope("alpha"))[0]!.state).not.toBe("connected");
  });

  test("a crash is answered as an error and the server starts again on next use, at most clientMaxReconnects times in a window", async () => {
    w = await world();
    const a = await w.connect(w.tokens.alpha);
    expect(JSON.parse(textOf(await a.callTool({ name: "mcp__local__whoami", arguments: {} }))).cwd).toBe("/work");
    const crashed = await a.callTool({ name: "mcp__local__crash", arguments: {} });
    expect(crashed.isError).toBe(true);
    for (let i = 0; i < 200 && w.core.mcpClients.status(scope("alpha"))[0]!.state === "connected"; i++) await Bun.sleep(25);
    expect(w.core.mcpClients.status(scope("alpha"))[0]!.error).toContain("the server exited (code 3)");
    // Started again on next use.
    expect(JSON.parse(textOf(await a.callTool({ name: "mcp__local__whoami", arguments: {} }))).cwd).toBe("/work");
    // A second crash within the window reaches the bound (2): not started again.
    await a.callTool({ name: "mcp__local__crash", arguments: {} });
    for (let i = 0; i < 200 && w.core.mcpClients.status(scope("alpha"))[0]!.state === "connected"; i++) await Bun.sleep(25);
    const after = await a.callTool({ name: "mcp__local__whoami", arguments: {} });
    expect(after.isError).toBe(true);
    expect(textOf(after)).toBe('NOT_FOUND: no tool named "mcp__local__whoami"');
    expect(w.core.mcpClients.status(scope("alpha"))[0]!.error).toContain("not started again");
  });
});
