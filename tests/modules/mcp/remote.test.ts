// Remote MCP servers (overlay mcpServers): a real MCP server built with the SDK, reached by the gateway
// only through the egress policy — one allowed (its tool called by the agent end to end, the fake
// provider standing in for the model) and ones refused (outside gateway.mcp.remoteAllow; inside it
// but resolving to a private address; the admin's list emptied after the overlay was saved).
import fs from "node:fs";
import { afterEach, describe, expect, test } from "bun:test";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { operatorCtx, scope, testApp } from "../../helpers/core.ts";
import { mcpWorld, textOf, type McpWorld } from "./world.ts";

interface Remote {
  url: string;
  port: number;
  requests: number;
  calls: string[];
  stop(): void;
}

/** An MCP server (the SDK's, stateless, JSON answers) with one tool, `echo`. */
function startRemote(): Remote {
  const remote: Remote = { url: "", port: 0, requests: 0, calls: [], stop: () => srv.stop(true) };
  const srv = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      remote.requests++;
      if (req.method !== "POST") return new Response(null, { status: 405 });
      const server = new Server({ name: "remote", version: "1" }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [{ name: "echo", description: "echoes", inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] } }] }));
      server.setRequestHandler(CallToolRequestSchema, async (r) => {
        remote.calls.push(String(r.params.arguments?.text));
        return { content: [{ type: "text", text: `remote echo: ${r.params.arguments?.text}` }] };
      });
      const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      await server.connect(transport);
      return transport.handleRequest(req);
    },
  });
  remote.port = srv.port!;
  remote.url = `http://127.0.0.1:${srv.port}/mcp`;
  return remote;
}

let w: McpWorld | null = null;
let remote: Remote | null = null;
afterEach(async () => {
  remote?.stop();
  remote = null;
  await w?.close();
  w?.core.close();
  w = null;
});

async function turn(world: McpWorld, message: string) {
  const h = testApp(world.core);
  const sent = await h.rpc(world.tokens.alpha, "chat.send", { sessionKey: "main", message });
  expect(sent.error).toBeUndefined();
  const done = await h.rpc(world.tokens.alpha, "chat.wait", { runId: sent.result.runId, timeoutMs: 30_000 });
  const session = world.core.sessions.get(scope("alpha"), "main");
  return { run: done.result, entries: world.core.sessions.entries(scope("alpha"), session.sessionId) as any[] };
}

const config = (allow: string[], allowPrivate: string[] | undefined) => ({
  gateway: { mcp: { remoteAllow: allow } },
  agents: { tools: ["file_read", "mcp__remote__echo"] },
  ...(allowPrivate ? { sandbox: { egress: { allowPrivate } } } : {}),
});

describe("remote MCP servers", () => {
  test("allowed by the egress policy: the agent calls the remote tool end to end; /mcp lists it; the other tenant has none of it", async () => {
    remote = startRemote();
    w = await mcpWorld({ config: config([`127.0.0.1:${remote.port}`], ["127.0.0.1/32"]) });
    w.core.overlays.set(scope("alpha"), { mcpServers: { remote: { url: remote.url } } }, operatorCtx);
    w.fake.script([{ toolCalls: [{ name: "mcp__remote__echo", arguments: { text: "hi" } }] }, { text: "done" }]);
    const { run, entries } = await turn(w, "use the remote tool");
    expect(run.status).toBe("ok");
    const result = entries.find((e) => e.type === "tool_result");
    expect(result).toMatchObject({ name: "mcp__remote__echo", isError: false, content: "remote echo: hi" });
    expect(remote.calls).toEqual(["hi"]);
    expect(w.core.mcpClients.status(scope("alpha"))).toEqual([{ name: "remote", url: remote.url, state: "connected", error: null, tools: ["mcp__remote__echo"], skipped: [], source: "overlay", plugin: null }]);
    // Over RPC, each tenant sees only its own servers.
    const h = testApp(w.core);
    expect((await h.rpc(w.tokens.alpha, "mcp.servers", {})).result.servers.map((s: any) => s.name)).toEqual(["remote"]);
    expect((await h.rpc(w.tokens.beta, "mcp.servers", {})).result.servers).toEqual([]);
    // The same tool through the tenant's own /mcp (Claude Code-style client → gateway → remote server).
    const a = await w.connect(w.tokens.alpha);
    expect((await a.listTools()).tools.map((t) => t.name)).toContain("mcp__remote__echo");
    expect(textOf(await a.callTool({ name: "mcp__remote__echo", arguments: { text: "via mcp" } }))).toBe("remote echo: via mcp");
    // Beta configured nothing: it sees none of alpha's remote tools, and cannot call them.
    const b = await w.connect(w.tokens.beta);
    expect((await b.listTools()).tools.map((t) => t.name)).not.toContain("mcp__remote__echo");
    expect(textOf(await b.callTool({ name: "mcp__remote__echo", arguments: { text: "x" } }))).toBe('NOT_FOUND: no tool named "mcp__remote__echo"');
    expect(remote.calls).toEqual(["hi", "via mcp"]);
    // The tenant stopping closes its connections.
    w.core.tenants.suspend(scope("alpha"), operatorCtx);
    expect(w.core.mcpClients.status(scope("alpha"))[0]!.state).not.toBe("connected");
  });

  test("refused: a URL outside gateway.mcp.remoteAllow cannot be put in the overlay", async () => {
    remote = startRemote();
    w = await mcpWorld({ config: config(["mcp.example.com:443"], ["127.0.0.1/32"]) });
    expect(() => w!.core.overlays.set(scope("alpha"), { mcpServers: { remote: { url: remote!.url } } }, operatorCtx)).toThrow(`127.0.0.1:${remote.port} is not in the gateway's remote MCP allow-list (gateway.mcp.remoteAllow)`);
    expect(() => w!.core.overlays.set(scope("alpha"), { mcpServers: { remote: { url: "https://mcp.example.com/mcp", headers: { Host: "evil" } } } }, operatorCtx)).toThrow("is set by the gateway");
    // A header value with CR/LF (or another control character) is refused when saved, naming it.
    for (const v of ["a\r\nHost: evil", "a\nb", "a\u0000"]) {
      expect(() => w!.core.overlays.set(scope("alpha"), { mcpServers: { remote: { url: "https://mcp.example.com/mcp", headers: { "X-A": v } } } }, operatorCtx)).toThrow("holds a control character (CR, LF, NUL, …); a header value is one line");
    }
    expect(remote.requests).toBe(0);
  });

  test("refused: an allowed name that resolves to a private address is never dialled; the agent has no such tool", async () => {
    remote = startRemote();
    w = await mcpWorld({ config: config([`mcp.test:${remote.port}`], undefined) });
    w.core.mcpClients.useLookup(async () => [{ address: "127.0.0.1", family: 4 }]);
    w.core.overlays.set(scope("alpha"), { mcpServers: { remote: { url: `http://mcp.test:${remote.port}/mcp` } } }, operatorCtx);
    w.fake.script([{ toolCalls: [{ name: "mcp__remote__echo", arguments: { text: "hi" } }] }, { text: "done" }]);
    const { entries } = await turn(w, "use the remote tool");
    const result = entries.find((e) => e.type === "tool_result");
    expect(result.isError).toBe(true);
    expect(result.content).toContain('tool "mcp__remote__echo" is not available');
    const [status] = w.core.mcpClients.status(scope("alpha"));
    expect(status!.state).toBe("error");
    expect(status!.error).toBe("refused by the egress policy: mcp.test resolves to 127.0.0.1 (private, loopback, link-local, metadata or host address)");
    expect(remote.requests).toBe(0);
  });

  test("a redirect is not followed (the gateway goes nowhere the policy did not vet); an overlay entry needs url or command, not both", async () => {
    remote = startRemote();
    const redirector = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(null, { status: 307, headers: { location: remote!.url } }) });
    try {
      w = await mcpWorld({ config: config([`127.0.0.1:${redirector.port}`, `127.0.0.1:${remote.port}`], ["127.0.0.1/32"]) });
      w.core.overlays.set(scope("alpha"), { mcpServers: { remote: { url: `http://127.0.0.1:${redirector.port}/mcp` } } }, operatorCtx);
      await w.core.agentTools.prepare(scope("alpha"), new AbortController().signal);
      const [status] = w.core.mcpClients.status(scope("alpha"));
      expect(status!.state).toBe("error");
      expect(remote.requests).toBe(0);
      expect(() => w!.core.overlays.set(scope("alpha"), { mcpServers: { both: { url: remote!.url, command: ["node", "x.mjs"] } } }, operatorCtx)).toThrow("needs either url (a remote server) or command (a stdio server in the sandbox), not both");
    } finally {
      redirector.stop(true);
    }
  });

  test("the admin's list emptied after the overlay was saved: the server's tools go at once, and nothing more is dialled", async () => {
    remote = startRemote();
    w = await mcpWorld({ config: config([`127.0.0.1:${remote.port}`], ["127.0.0.1/32"]) });
    w.core.overlays.set(scope("alpha"), { mcpServers: { remote: { url: remote.url } } }, operatorCtx);
    await w.core.agentTools.prepare(scope("alpha"), new AbortController().signal);
    expect(w.core.agentTools.forTenant(scope("alpha")).map((t) => t.name)).toContain("mcp__remote__echo");
    const seen = remote.requests;
    const file = JSON.parse(fs.readFileSync(w.core.configFile, "utf8"));
    file.gateway.mcp.remoteAllow = [];
    fs.writeFileSync(w.core.configFile, JSON.stringify(file));
    w.core.reloadConfig();
    await w.core.agentTools.prepare(scope("alpha"), new AbortController().signal);
    expect(w.core.agentTools.forTenant(scope("alpha")).map((t) => t.name)).not.toContain("mcp__remote__echo");
    expect(remote.requests).toBe(seen);
    // The connection the overlay no longer allows is closed and forgotten.
    expect(w.core.mcpClients.kept("alpha")).toBe(0);
  });

  test("one tenant's servers together offer at most 128 tools and 1 MiB of definitions (each listing and model request carries them all)", async () => {
    // Three servers of the tenant's, each with 128 tools and 20 KiB schemas: 384 tools, 7.5 MiB.
    const props = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`p${i}`, { type: "string", description: "x".repeat(80) }]));
    const servers = [0, 1, 2].map(() =>
      Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        async fetch(req) {
          if (req.method !== "POST") return new Response(null, { status: 405 });
          const server = new Server({ name: "many", version: "1" }, { capabilities: { tools: {} } });
          server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: Array.from({ length: 128 }, (_, i) => ({ name: `t${i}`, description: "d", inputSchema: { type: "object", properties: props } })) }));
          const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
          await server.connect(transport);
          return transport.handleRequest(req);
        },
      }),
    );
    try {
      w = await mcpWorld({ config: { ...config(servers.map((s) => `127.0.0.1:${s.port}`), ["127.0.0.1/32"]), agents: { tools: ["file_read", "mcp__*"] } } });
      w.core.overlays.set(scope("alpha"), { mcpServers: Object.fromEntries(servers.map((s, i) => [`m${i}`, { url: `http://127.0.0.1:${s.port}/mcp` }])) }, operatorCtx);
      await w.core.agentTools.prepare(scope("alpha"), new AbortController().signal);
      expect(w.core.mcpClients.status(scope("alpha")).map((s) => s.state)).toEqual(["connected", "connected", "connected"]);
      const mcpTools = w.core.agentTools.forTenant(scope("alpha")).filter((t) => t.name.startsWith("mcp__"));
      const bytes = mcpTools.reduce((n, t) => n + t.name.length + Buffer.byteLength(t.description) + JSON.stringify(t.parameters).length, 0);
      expect(mcpTools.length).toBeGreaterThan(0);
      expect(mcpTools.length).toBeLessThanOrEqual(128);
      expect(bytes).toBeLessThanOrEqual(1024 * 1024);
      // Taken by server name: the first server's tools come first.
      expect(mcpTools[0]!.name).toBe("mcp__m0__t0");
      // /mcp lists no more than that either.
      const a = await w.connect(w.tokens.alpha);
      expect((await a.listTools()).tools.filter((t) => t.name.startsWith("mcp__")).length).toBe(mcpTools.length);
    } finally {
      for (const s of servers) s.stop(true);
    }
  });
});
