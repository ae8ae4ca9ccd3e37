// One side of the WebSocket benchmark (bench/ws.ts starts it): either the gateway (the real core and
// HTTP app, GET /rpc, events published on the real bus) or the baseline — a bare Bun WebSocket server
// that keeps one map from (tenant, session) to its socket and sends to it, the least any server could
// do. Both are driven the same way over stdin, one command a line, answering one JSON line on stdout:
//   stats                    → {rss} after a full GC
//   publish <perSecond> <s>  → publishes chat.delta events, round-robin over (tenant, session), each
//                              stamped with its publish time; answers {published} when done
// Usage: bun bench/ws-server.ts gateway|baseline <tenants> <connectionsPerTenant>
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServerWebSocket } from "bun";
import { createCore } from "../src/app/core.ts";
import { readEnvironment } from "../src/config/env.ts";
import { silentLogger } from "../src/core/logger.ts";
import type { TenantScope } from "../src/edge/tenant-scope.ts";
import { startGateway } from "../src/http/gateway.ts";
import { bindTenantIdentity } from "../src/http/tenant-identity.ts";

const [mode, tenantsArg, perTenantArg] = process.argv.slice(2);
const tenants = Number(tenantsArg ?? 100);
const perTenant = Number(perTenantArg ?? 20);
const now = () => performance.timeOrigin + performance.now();

type Publish = (tenant: number, session: string, params: Record<string, unknown>) => void;
let publish: Publish;
let url: string;
let tokens: string[] = [];

if (mode === "gateway") {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "bench-ws-"));
  fs.writeFileSync(
    path.join(home, "openclaw.json"),
    JSON.stringify({ gateway: { port: 0, accessLog: false, websocket: { maxConnections: tenants * perTenant + 100, maxConnectionsPerTenant: perTenant + 10 } } }),
  );
  const core = createCore({ home, env: readEnvironment({ PATH: process.env.PATH }), log: silentLogger() });
  const ctx = { actor: { kind: "operator" as const, id: "bench" }, requestId: "bench" };
  const scopes: TenantScope[] = [];
  for (let t = 0; t < tenants; t++) {
    const token = core.tenants.create({ id: `t${t}` }, ctx).token;
    tokens.push(token);
    scopes.push(bindTenantIdentity({ tokens: core.tokens, incarnation: core.tenants.incarnation }, token)!);
  }
  const gw = startGateway(core);
  url = `${gw.url.replace("http", "ws")}/rpc`;
  publish = (t, session, params) => core.events.publish(scopes[t]!, { method: "chat.delta", params: { sessionKey: session, ...params }, sessionKey: session });
} else {
  type Data = { tenant: number; session?: string };
  const bySession = new Map<string, ServerWebSocket<Data>>();
  const server = Bun.serve<Data>({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      const tenant = Number(new URL(req.url).searchParams.get("t") ?? 0);
      return srv.upgrade(req, { data: { tenant } }) ? undefined : new Response("no", { status: 400 });
    },
    websocket: {
      perMessageDeflate: false,
      message(ws, msg) {
        const m = JSON.parse(String(msg)) as { id: number; params: { sessionKeys: string[] } };
        ws.data.session = m.params.sessionKeys[0];
        bySession.set(`${ws.data.tenant}/${ws.data.session}`, ws);
        ws.send(JSON.stringify({ jsonrpc: "2.0", id: m.id, result: { sessionKeys: m.params.sessionKeys } }));
      },
      close(ws) {
        bySession.delete(`${ws.data.tenant}/${ws.data.session}`);
      },
    },
  });
  url = `ws://127.0.0.1:${server.port}/rpc`;
  tokens = Array.from({ length: tenants }, (_, t) => `t=${t}`);
  let seq = 0;
  publish = (t, session, params) => bySession.get(`${t}/${session}`)?.send(JSON.stringify({ jsonrpc: "2.0", method: "chat.delta", params: { sessionKey: session, ...params, seq: ++seq } }));
}

function reply(x: unknown) {
  process.stdout.write(`${JSON.stringify(x)}\n`);
}

reply({ url, tokens, pid: process.pid });

/** Time spent inside publish() (the bus, the filter, serialising, handing to the socket) in the last run. */
let inPublish = 0;
let maxPublish = 0;

async function runPublisher(perSecond: number, seconds: number): Promise<number> {
  const start = now();
  let sent = 0;
  let last = now();
  const stalls: number[] = [];
  inPublish = 0;
  maxPublish = 0;
  const total = Math.round(perSecond * seconds);
  while (sent < total) {
    // As many as are due by now: a steady rate whatever the timer's granularity.
    const due = Math.min(total, Math.floor(((now() - start) / 1000) * perSecond));
    for (; sent < due; sent++) {
      const slot = sent % (tenants * perTenant);
      const t = slot % tenants;
      const session = `s${Math.floor(slot / tenants)}`;
      const t0 = now();
      publish(t, session, { i: sent, t: t0, delta: "lorem ipsum dolor" });
      const spent = now() - t0;
      inPublish += spent;
      if (spent > maxPublish) maxPublish = spent;
    }
    await Bun.sleep(1);
    const t = now();
    if (t - last > 8) stalls.push(Math.round(t - last));
    last = t;
  }
  if (process.env.WS_BENCH_STALLS) process.stderr.write(`${mode} stalls >8ms: ${JSON.stringify(stalls)}\n`);
  return sent;
}

let buf = "";
for await (const chunk of Bun.stdin.stream()) {
  buf += Buffer.from(chunk).toString();
  let nl: number;
  while ((nl = buf.indexOf("\n")) >= 0) {
    const [cmd, a, b] = buf.slice(0, nl).trim().split(/\s+/);
    buf = buf.slice(nl + 1);
    if (cmd === "stats") {
      Bun.gc(true);
      await Bun.sleep(200);
      Bun.gc(true);
      reply({ rss: process.memoryUsage().rss });
    } else if (cmd === "publish") {
      const published = await runPublisher(Number(a), Number(b));
      reply({ published, publishUsPerEvent: (inPublish * 1000) / published, publishMaxUs: maxPublish * 1000 });
    } else if (cmd === "exit") process.exit(0);
  }
}
