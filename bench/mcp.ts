// Issue 18 §8, two figures.
// (1) A tool call to a warm stdio MCP server in the tenant's bwrap sandbox (the SDK-built fixture server,
// bundled for Node), through the gateway's MCP client as the agent loop calls it (the AgentTool), beside
// the same server spoken to directly — `node server.mjs` on the host, the SDK's StdioClientTransport —
// in the same run. Added p50 = p50(gateway) − p50(direct). Target ≤ 5 ms.
// (2) /mcp tools/call of file_read: the time the MCP surface adds, over loopback HTTP at c=1, beside the
// same read through POST /rpc files.read on the same gateway in the same run (the same token check,
// admission and files service; what differs is the MCP server per request — the SDK's server and
// transport, tools/list policy, the ToolContext — and the file_read tool's formatting). Also the bare
// tool in process (no HTTP), for scale. Runs alternate; medians of per-run p50s.
// Added p50 = p50(/mcp tools/call) − p50(/rpc files.read). Target ≤ 2 ms (issue 18).
// Usage: bun bench/mcp.ts [--runs 5] [--calls 2000] [--stdio-calls 1000]   (needs bwrap and node)
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createCore } from "../src/app/core.ts";
import { readEnvironment } from "../src/config/env.ts";
import { silentLogger } from "../src/core/logger.ts";
import { mintTenantScope } from "../src/edge/tenant-scope.ts";
import { startGateway } from "../src/http/gateway.ts";
import { fileReadTool } from "../src/modules/agents/tools/file-read.ts";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { arg, median, saveResult, tmpdir } from "./lib.ts";

const runs = arg("--runs", 5);
const calls = arg("--calls", 2000);
const stdioCalls = arg("--stdio-calls", 1000);

const home = tmpdir("bench-mcp-");
// The stdio server lives as long as a sandbox run may (sandbox.limits.timeoutSeconds): long enough here.
fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify({ gateway: { port: 0, accessLog: false }, sandbox: { limits: { timeoutSeconds: 3600 } }, agents: { tools: ["file_read", "mcp__local__whoami"] } }));
const core = createCore({ home, env: readEnvironment({ PATH: process.env.PATH }), log: silentLogger() });
const op = { actor: { kind: "operator" as const, id: "bench" }, requestId: "bench" };
const { token } = core.tenants.create({ id: "acme" }, op);
const tenant = mintTenantScope("acme");
const text = Array.from({ length: 40 }, (_, i) => `line ${i + 1} of the notes, some fifty bytes of text here`).join("\n");
core.files.write(tenant, "notes.txt", Buffer.from(text));
const gw = startGateway(core);

// The stdio server: bundled once, in the tenant's workspace (gateway path) and a host directory (direct).
const built = await Bun.build({ entrypoints: [path.join(import.meta.dir, "../tests/modules/mcp/fixtures/stdio-server.ts")], target: "node", format: "esm" });
const bundle = await built.outputs[0]!.text();
core.files.write(tenant, "mcp/server.mjs", Buffer.from(bundle), { mkdirs: true });
const hostDir = tmpdir("bench-mcp-direct-");
fs.writeFileSync(path.join(hostDir, "server.mjs"), bundle);
core.overlays.set(tenant, { mcpServers: { local: { command: ["node", "mcp/server.mjs"] } } }, op);
await core.agentTools.prepare(tenant, new AbortController().signal);
const stdioTool = core.agentTools.forTenant(tenant).find((t) => t.name === "mcp__local__whoami");
if (!stdioTool) throw new Error(`the stdio server did not start: ${JSON.stringify(core.mcpClients.status(tenant))}`);
const direct = new Client({ name: "bench", version: "1" });
await direct.connect(new StdioClientTransport({ command: "node", args: [path.join(hostDir, "server.mjs")], cwd: hostDir }));

async function viaGateway(): Promise<number[]> {
  const ctx = { tenant, agentId: "main", sessionKey: "bench", runId: "bench", signal: new AbortController().signal, secondsLeft: 600, maxOutputBytes: 65_536, services: { files: core.files, sandbox: core.sandbox, sessions: core.sessions.forTools } };
  const times: number[] = [];
  for (let i = 0; i < stdioCalls; i++) {
    const t = performance.now();
    const r = await stdioTool!.run({}, ctx);
    times.push(performance.now() - t);
    if (r.isError || !r.content.includes('"cwd":"/work"')) throw new Error(`unexpected answer through the gateway: ${r.content.slice(0, 200)}`);
  }
  return times;
}

async function viaDirect(): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < stdioCalls; i++) {
    const t = performance.now();
    const r = await direct.callTool({ name: "whoami", arguments: {} });
    times.push(performance.now() - t);
    if (r.isError) throw new Error("unexpected answer from the direct server");
  }
  return times;
}

const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${token}` };
const rpcBody = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "files.read", params: { path: "notes.txt" } });
const mcpBody = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "file_read", arguments: { path: "notes.txt" } } });

async function loop(url: string, body: string, expect: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    const r = await fetch(url, { method: "POST", body, headers });
    const out = await r.text();
    times.push(performance.now() - t);
    if (r.status !== 200 || !out.includes(expect)) throw new Error(`unexpected answer from ${url}: ${r.status} ${out.slice(0, 200)}`);
  }
  return times;
}

async function bare(): Promise<number[]> {
  const ctx = { tenant, agentId: "main", sessionKey: "bench", runId: "bench", signal: new AbortController().signal, secondsLeft: 60, maxOutputBytes: 65_536, services: { files: core.files, sandbox: core.sandbox, sessions: core.sessions.forTools } };
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await fileReadTool.run({ path: "notes.txt" }, ctx);
    times.push(performance.now() - t);
  }
  return times;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!;
};

// Warm every path, then alternate.
await viaGateway();
await viaDirect();
await loop(`${gw.url}/rpc`, rpcBody, "line 40");
await loop(`${gw.url}/mcp`, mcpBody, "line 40");
const rpc: { p50: number; p99: number }[] = [];
const mcp: { p50: number; p99: number }[] = [];
const tool: { p50: number }[] = [];
const sg: { p50: number; p99: number }[] = [];
const sd: { p50: number; p99: number }[] = [];
for (let i = 0; i < runs; i++) {
  const g = await viaGateway();
  const d = await viaDirect();
  sg.push({ p50: pct(g, 0.5), p99: pct(g, 0.99) });
  sd.push({ p50: pct(d, 0.5), p99: pct(d, 0.99) });
  const r = await loop(`${gw.url}/rpc`, rpcBody, "line 40");
  const m = await loop(`${gw.url}/mcp`, mcpBody, "line 40");
  const b = await bare();
  rpc.push({ p50: pct(r, 0.5), p99: pct(r, 0.99) });
  mcp.push({ p50: pct(m, 0.5), p99: pct(m, 0.99) });
  tool.push({ p50: pct(b, 0.5) });
}
await direct.close();
core.mcpClients.closeAll();
await gw.stop();
core.close();
fs.rmSync(home, { recursive: true, force: true });
fs.rmSync(hostDir, { recursive: true, force: true });

const round = (x: number) => Math.round(x * 1000) / 1000;
const result = {
  benchmark: "mcp",
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, bun: Bun.version },
  method: `${runs} alternating runs, medians of per-run percentiles. stdio: ${stdioCalls} sequential tools/call of the fixture's whoami per run, through the gateway's MCP client to the server in bwrap, and straight to the same server on the host. /mcp: c=1 over loopback HTTP, ${calls} calls per run, a 2 KB workspace file`,
  stdio: {
    gatewaySandboxed: { p50ms: round(median(sg.map((x) => x.p50))), p99ms: round(median(sg.map((x) => x.p99))) },
    directOnHost: { p50ms: round(median(sd.map((x) => x.p50))), p99ms: round(median(sd.map((x) => x.p99))) },
    addedP50ms: round(median(sg.map((x, i) => x.p50 - sd[i]!.p50))),
    targetAddedP50ms: 5,
  },
  rpcFilesRead: { p50ms: round(median(rpc.map((x) => x.p50))), p99ms: round(median(rpc.map((x) => x.p99))) },
  mcpToolsCall: { p50ms: round(median(mcp.map((x) => x.p50))), p99ms: round(median(mcp.map((x) => x.p99))) },
  bareToolInProcess: { p50ms: round(median(tool.map((x) => x.p50))) },
  addedP50ms: round(median(mcp.map((x, i) => x.p50 - rpc[i]!.p50))),
  targetAddedP50ms: 2,
  runs: { rpcP50: rpc.map((x) => round(x.p50)), mcpP50: mcp.map((x) => round(x.p50)), stdioGatewayP50: sg.map((x) => round(x.p50)), stdioDirectP50: sd.map((x) => round(x.p50)) },
};
console.log(JSON.stringify(result, null, 2));
saveResult("mcp", result);
