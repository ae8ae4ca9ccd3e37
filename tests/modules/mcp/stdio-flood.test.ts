// A stdio MCP server is tenant code whose output the gateway parses on its one event loop: a server
// that floods it (notifications, pings) is stopped, with the reason, before it can stall the other
// tenants' requests; and a server that leaves its stdin unread cannot make the gateway queue without
// bound (red-team review of issue 18: a notification flood held every request for ~30 s, a ping
// flood ~56 s and 1.4 GB).
import { afterEach, describe, expect, test } from "bun:test";
import type { SandboxRequest } from "../../../src/modules/sandbox/sandbox.types.ts";
import { MAX_STDIN_QUEUE_BYTES, SandboxStdioTransport } from "../../../src/modules/mcp/sandbox-transport.ts";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { mcpWorld, type McpWorld } from "./world.ts";

// A minimal MCP server (no SDK): answers initialize and tools/list, then floods its stdout with `what`.
const FLOODER = `
const rl = require("node:readline").createInterface({ input: process.stdin });
const out = (m) => process.stdout.write(JSON.stringify(m) + "\\n");
rl.on("line", (l) => {
  const m = JSON.parse(l);
  if (m.method === "initialize") out({ jsonrpc: "2.0", id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "f", version: "1" } } });
  if (m.method === "tools/list") {
    out({ jsonrpc: "2.0", id: m.id, result: { tools: [{ name: "x", inputSchema: { type: "object" } }] } });
    rl.close();
    process.stdin.pause();
    const what = process.argv[2];
    let i = 0;
    const line = () => JSON.stringify(what === "ping" ? { jsonrpc: "2.0", id: "p" + i++, method: "ping" } : { jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "x" } }) + "\\n";
    const flood = () => { let s = ""; for (let k = 0; k < 2000; k++) s += line(); while (process.stdout.write(s)) { s = ""; for (let k = 0; k < 2000; k++) s += line(); } process.stdout.once("drain", flood); };
    flood();
  }
});
`;

let w: McpWorld | null = null;
afterEach(async () => {
  await w?.close();
  w?.core.close();
  w = null;
});

/** The longest the event loop went without running a 10 ms timer while `fn` ran. */
async function loopLag(fn: () => Promise<unknown>): Promise<number> {
  let worst = 0;
  let last = performance.now();
  const t = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 10);
  try {
    await fn();
  } finally {
    clearInterval(t);
  }
  return Math.max(worst, performance.now() - last);
}

describe("a stdio MCP server that floods the gateway", () => {
  for (const what of ["notify", "ping"]) {
    test(`${what}: stopped with the reason while the gateway's event loop keeps running`, async () => {
      w = await mcpWorld({ config: { agents: { tools: ["file_read", "mcp__*"] }, sandbox: { limits: { timeoutSeconds: 8 } } } });
      w.write("alpha", "flood.js", FLOODER);
      w.core.overlays.set(scope("alpha"), { mcpServers: { flood: { command: ["node", "flood.js", what] } } }, operatorCtx);
      const lag = await loopLag(async () => {
        await w!.core.agentTools.prepare(scope("alpha"), new AbortController().signal);
        for (let i = 0; i < 400 && w!.core.mcpClients.status(scope("alpha"))[0]!.state === "connected"; i++) await Bun.sleep(25);
      });
      const [status] = w.core.mcpClients.status(scope("alpha"));
      expect(status!.state).toBe("error");
      expect(status!.error).toContain("messages a second; it was stopped");
      expect(lag).toBeLessThan(1000);
      for (let i = 0; i < 200 && w.core.sandbox.liveRuns("alpha") > 0; i++) await Bun.sleep(25);
      expect(w.core.sandbox.liveRuns("alpha")).toBe(0);
    }, 60_000);
  }

  test("a server that does not read its stdin: the gateway stops it past the cap rather than queue", async () => {
    let ran: SandboxRequest | null = null;
    const sandbox = {
      info: () => ({ limits: { timeoutSeconds: 60 } }),
      // A process that never reads its stdin and never exits until aborted.
      run: (req: SandboxRequest) => {
        ran = req;
        return new Promise((resolve) => req.signal!.addEventListener("abort", () => resolve({ stdout: "", stderr: "", exitCode: null, signal: "SIGKILL", killedReason: "aborted" })));
      },
    };
    const t = new SandboxStdioTransport({ sandbox: sandbox as never, tenant: scope("alpha"), command: ["sleep", "600"] });
    let closed = false;
    t.onclose = () => void (closed = true);
    await t.start();
    expect(ran).not.toBeNull();
    const big = { jsonrpc: "2.0" as const, method: "notifications/message", params: { data: "x".repeat(1024 * 1024) } };
    let refused: Error | null = null;
    for (let i = 0; i < 64 && !refused; i++) await t.send(big).catch((e: Error) => void (refused = e));
    expect(refused).not.toBeNull();
    expect(refused!.message).toBe(`the server left more than ${MAX_STDIN_QUEUE_BYTES} bytes of its input unread; it was stopped`);
    expect(t.exitReason).toBe(refused!.message);
    for (let i = 0; i < 100 && !closed; i++) await Bun.sleep(10);
    expect(closed).toBe(true);
  });
});
