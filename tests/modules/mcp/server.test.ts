// /mcp: the SDK's own MCP client (Client + StreamableHTTPClientTransport) against the gateway, for two
// tenants. Each sees and calls only its own tools and files; every bad credential is the same 401; a
// browser Origin not allowed is refused; a revoked token ends it; calls are capped per tenant.
import { afterEach, describe, expect, test } from "bun:test";
import type { AgentTool } from "../../../src/modules/agents/tools/tool.ts";
import fs from "node:fs";
import path from "node:path";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { goodSkill, skillMd } from "../../helpers/skill-packages.ts";
import { mcpWorld, textOf, type McpWorld } from "./world.ts";

let w: McpWorld | null = null;
afterEach(async () => {
  await w?.close();
  w?.core.close();
  w = null;
});

const post = (world: McpWorld, token: string | null, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${world.gw.url}/mcp`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

const INIT = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } } };

describe("/mcp server", () => {
  test("two tenants: each lists its own tools and reads only its own files", async () => {
    w = await mcpWorld();
    w.write("alpha", "note.txt", "alpha's secret\n");
    w.write("beta", "note.txt", "beta's secret\n");
    const a = await w.connect(w.tokens.alpha);
    const b = await w.connect(w.tokens.beta);
    const names = (await a.listTools()).tools.map((t) => t.name);
    expect(names).toContain("file_read");
    expect(names).toContain("exec");
    expect(names).toContain("agent_ask");
    const ra = await a.callTool({ name: "file_read", arguments: { path: "note.txt" } });
    const rb = await b.callTool({ name: "file_read", arguments: { path: "note.txt" } });
    expect(ra.isError).toBeFalsy();
    expect(textOf(ra)).toBe("alpha's secret");
    expect(textOf(rb)).toBe("beta's secret");
    // Beta's file by any path from alpha's workspace: refused by the one resolver, never shown.
    for (const path of ["../beta/workspace/note.txt", "/work/../../beta/workspace/note.txt", `${w.core.home}/tenants/beta/workspace/note.txt`]) {
      const r = await a.callTool({ name: "file_read", arguments: { path } });
      expect(r.isError).toBe(true);
      expect(textOf(r)).not.toContain("beta's secret");
    }
  });

  test("a tool only another tenant has is the same NOT_FOUND as one nobody has", async () => {
    w = await mcpWorld({ config: { agents: { tools: ["file_read", "beta_only"] } } });
    // A per-tenant source: beta has a tool alpha has not.
    const betaTool: AgentTool = { name: "beta_only", description: "beta's", parameters: { type: "object", properties: {} }, run: async () => ({ content: "beta ran", isError: false, truncated: false }) };
    w.core.agentTools.addSource({ name: "test", tools: (t) => (t.tenantId === "beta" ? [betaTool] : []) });
    const a = await w.connect(w.tokens.alpha);
    const b = await w.connect(w.tokens.beta);
    expect((await a.listTools()).tools.map((t) => t.name).sort()).toEqual(["agent_ask", "file_read"]);
    expect((await b.listTools()).tools.map((t) => t.name).sort()).toEqual(["agent_ask", "beta_only", "file_read"]);
    const other = await a.callTool({ name: "beta_only", arguments: {} });
    const none = await a.callTool({ name: "nobody_has", arguments: {} });
    expect(other.isError).toBe(true);
    expect(textOf(other)).toBe('NOT_FOUND: no tool named "beta_only"');
    expect(textOf(none)).toBe('NOT_FOUND: no tool named "nobody_has"');
    expect(textOf(await b.callTool({ name: "beta_only", arguments: {} }))).toBe("beta ran");
  });

  test("exec through /mcp sees the tenant's skills, its own and the operator's, as an agent's exec does; another tenant sees none of its own", async () => {
    w = await mcpWorld();
    const op = path.join(w.core.home, "skills", "op-tool");
    fs.mkdirSync(path.join(op, "scripts"), { recursive: true });
    fs.writeFileSync(path.join(op, "SKILL.md"), skillMd("op-tool"));
    fs.writeFileSync(path.join(op, "scripts", "run.sh"), "echo operator tool ran\n");
    await w.core.skills.install(scope("alpha"), "skill", { archive: await goodSkill("notes") }, operatorCtx);
    const a = await w.connect(w.tokens.alpha);
    const b = await w.connect(w.tokens.beta);
    const cmd = "ls /mnt/skills; sh /mnt/skills/op-tool/scripts/run.sh; sh /mnt/skills/notes/scripts/hello.sh 2>&1 | head -c 200";
    expect(textOf(await a.callTool({ name: "exec", arguments: { command: cmd } }))).toContain("stdout:\nnotes\nop-tool\noperator tool ran\nhello from the skill\n");
    const rb = textOf(await b.callTool({ name: "exec", arguments: { command: cmd } }));
    expect(rb).toContain("stdout:\nop-tool\noperator tool ran\n");
    expect(rb).not.toContain("hello from the skill");
  });

  test("the tenant's tools.allow narrows what /mcp exposes, as it narrows its agents", async () => {
    w = await mcpWorld();
    w.core.overlays.set(scope("alpha"), { tools: { allow: ["file_read"] } }, operatorCtx);
    w.write("alpha", "x.txt", "x\n");
    const a = await w.connect(w.tokens.alpha);
    expect((await a.listTools()).tools.map((t) => t.name).sort()).toEqual(["agent_ask", "file_read"]);
    const r = await a.callTool({ name: "exec", arguments: { command: "id" } });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toBe('NOT_FOUND: no tool named "exec"');
  });

  test("a missing, wrong or other-surface credential: the one 401, byte for byte", async () => {
    w = await mcpWorld();
    const bodies: string[] = [];
    for (const token of [null, "nope", `${w.tokens.alpha}x`, "ocmu_beta_0000000000000000000000000000"]) {
      const r = await post(w, token, INIT);
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toBe('Bearer realm="openclaw"');
      bodies.push(await r.text());
    }
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0]!).error.data.code).toBe("UNAUTHORIZED");
  });

  test("a browser Origin not in gateway.mcp.allowedOrigins is refused, the Host's own too (DNS rebinding: red team 18, F4)", async () => {
    w = await mcpWorld({ config: { gateway: { mcp: { allowedOrigins: ["https://ide.example"] } } } });
    const evil = await post(w, w.tokens.alpha, INIT, { origin: "https://evil.example" });
    expect(evil.status).toBe(403);
    expect(((await evil.json()) as any).error.message).toContain("this Origin may not call /mcp");
    expect((await post(w, w.tokens.alpha, INIT, { origin: "https://ide.example" })).status).toBe(200);
    // A rebinding page sends its own name as both Host and Origin: "the gateway's own origin" is not evidence.
    expect((await post(w, w.tokens.alpha, INIT, { origin: new URL(w.gw.url).origin })).status).toBe(403);
    expect((await post(w, w.tokens.alpha, INIT, { origin: "http://evil.example", host: "evil.example" })).status).toBe(403);
    expect((await post(w, w.tokens.alpha, INIT)).status).toBe(200);
  });

  test("a revoked token ends /mcp at its next request; a suspended tenant too", async () => {
    w = await mcpWorld();
    const b = await w.connect(w.tokens.beta);
    expect((await b.listTools()).tools.length).toBeGreaterThan(0);
    w.core.tenants.rotateToken(scope("beta"), 0, operatorCtx);
    expect((await post(w, w.tokens.beta, INIT)).status).toBe(401);
    await expect(b.listTools()).rejects.toThrow();
    const a = await w.connect(w.tokens.alpha);
    w.core.tenants.suspend(scope("alpha"), operatorCtx);
    await expect(a.listTools()).rejects.toThrow();
    expect((await post(w, w.tokens.alpha, INIT)).status).toBe(401);
  });

  test("GET and DELETE are 405 (stateless); bodies past gateway.mcp.maxRequestBytes and bad JSON are refused", async () => {
    w = await mcpWorld({ config: { gateway: { mcp: { maxRequestBytes: 2048 } } } });
    const get = await fetch(`${w.gw.url}/mcp`, { headers: { authorization: `Bearer ${w.tokens.alpha}`, accept: "text/event-stream" } });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    const big = await post(w, w.tokens.alpha, { ...INIT, params: { ...INIT.params, pad: "x".repeat(4096) } });
    expect(big.status).toBe(413);
    const bad = await post(w, w.tokens.alpha, "{not json");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.code).toBe(-32700);
  });

  test("tools/call is capped per tenant (gateway.mcp.maxConcurrentCallsPerTenant); the other tenant is not held up", async () => {
    w = await mcpWorld({ config: { gateway: { mcp: { maxConcurrentCallsPerTenant: 1 } }, agents: { tools: ["file_read", "hold"] } } });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    w.core.agentTools.add({ name: "hold", description: "waits", parameters: { type: "object", properties: {} }, run: async () => (await held, { content: "released", isError: false, truncated: false }) });
    const a1 = await w.connect(w.tokens.alpha);
    const a2 = await w.connect(w.tokens.alpha);
    const b = await w.connect(w.tokens.beta);
    const first = a1.callTool({ name: "hold", arguments: {} });
    for (let i = 0; i < 100 && w.core.mcpServer.inProgress("alpha") === 0; i++) await Bun.sleep(10);
    const second = await a2.callTool({ name: "hold", arguments: {} });
    expect(second.isError).toBe(true);
    expect(textOf(second)).toStartWith("RATE_LIMITED:");
    w.write("beta", "b.txt", "b\n");
    expect(textOf(await b.callTool({ name: "file_read", arguments: { path: "b.txt" } }))).toBe("b");
    release();
    expect(textOf(await first)).toBe("released");
    expect(w.core.mcpServer.inProgress("alpha")).toBe(0);
  });

  test("a call in progress ends when its tenant is suspended (TenantData.onStop); the other tenant's goes on", async () => {
    w = await mcpWorld({ config: { agents: { tools: ["file_read", "wait_for_abort"] } } });
    const ended: string[] = [];
    w.core.agentTools.add({
      name: "wait_for_abort",
      description: "waits until its call is stopped",
      parameters: { type: "object", properties: {} },
      run: (_args, ctx) =>
        new Promise((resolve) => {
          const t = setTimeout(() => resolve({ content: "not stopped", isError: false, truncated: false }), 3000);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(t);
            ended.push(ctx.tenant.tenantId);
            resolve({ content: "ABORTED: stopped", isError: true, truncated: false });
          });
        }),
    });
    const a = await w.connect(w.tokens.alpha);
    const b = await w.connect(w.tokens.beta);
    const ra = a.callTool({ name: "wait_for_abort", arguments: {} }).catch((e) => e);
    const rb = b.callTool({ name: "wait_for_abort", arguments: {} });
    for (let i = 0; i < 100 && (w.core.mcpServer.inProgress("alpha") === 0 || w.core.mcpServer.inProgress("beta") === 0); i++) await Bun.sleep(10);
    w.core.tenants.suspend(scope("alpha"), operatorCtx);
    await ra;
    expect(ended).toEqual(["alpha"]);
    expect(textOf(await rb)).toBe("not stopped");
  });

  test("agent_ask runs a turn of the tenant's agent and answers its text, in the tenant's own session", async () => {
    w = await mcpWorld();
    const a = await w.connect(w.tokens.alpha);
    const r = await a.callTool({ name: "agent_ask", arguments: { message: "hello [[words:3]]" } });
    expect(r.isError).toBeFalsy();
    expect(textOf(r).split(" ").length).toBe(3);
    expect(w.core.sessions.list(scope("alpha"), { limit: 10 }).sessions.map((s) => s.key)).toEqual(["mcp:default"]);
    expect(w.core.sessions.list(scope("beta"), { limit: 10 }).sessions).toEqual([]);
    const bad = await a.callTool({ name: "agent_ask", arguments: { message: "" } });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toStartWith("INVALID_PARAMS");
  });

  test("a batch is bounded: more than 10 messages in one POST is refused before any is answered (a batch of tools/list multiplied one request's answer)", async () => {
    w = await mcpWorld();
    const list = (n: number) => Array.from({ length: n }, (_, i) => ({ jsonrpc: "2.0", id: i + 1, method: "tools/list" }));
    const big = await post(w, w.tokens.alpha, list(11));
    expect(big.status).toBe(400);
    expect(((await big.json()) as any).error).toEqual({ code: -32600, message: "Invalid Request: a batch on /mcp holds at most 10 messages (this one has 11); send them in several requests" });
    const small = await post(w, w.tokens.alpha, list(2));
    expect(small.status).toBe(200);
    const answers = (await small.json()) as any[];
    expect(answers.length).toBe(2);
    expect(answers[0].result.tools.map((t: any) => t.name)).toContain("file_read");
  });
});
