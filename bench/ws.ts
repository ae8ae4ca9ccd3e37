// The tenant WebSocket (GET /rpc) at 2,000 concurrent connections, beside a bare Bun WebSocket server
// doing the least any server could (bench/ws-server.ts), in the same run, alternating:
//   (1) RSS per idle connection: the server's RSS after a full GC, before and after opening the
//       connections (each authenticated and subscribed to its own session), divided by their number;
//   (2) event delivery at 2,000 events/s spread over the connections (round-robin over the (tenant,
//       session) pairs, so each connection gets about one a second): the time from publish (on the real
//       events bus, in the gateway's process) to the client's message handler, p50/p99 over every event.
// The server and this client are separate processes on the same machine (the publish time is read from
// the same clock: performance.timeOrigin + performance.now()).
// Usage: bun bench/ws.ts [--runs 3] [--tenants 100] [--per-tenant 20] [--rate 2000] [--seconds 10]
import os from "node:os";
import { arg, median, saveResult } from "./lib.ts";

const runs = arg("--runs", 3);
const tenants = arg("--tenants", 100);
const perTenant = arg("--per-tenant", 20);
const rate = arg("--rate", 2000);
const seconds = arg("--seconds", 10);
const N = tenants * perTenant;
const now = () => performance.timeOrigin + performance.now();

interface Server {
  proc: ReturnType<typeof Bun.spawn>;
  url: string;
  tokens: string[];
  ask(cmd: string): Promise<any>;
}

async function startServer(mode: "gateway" | "baseline"): Promise<Server> {
  const proc = Bun.spawn(["bun", "bench/ws-server.ts", mode, String(tenants), String(perTenant)], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let buf = "";
  const line = async (): Promise<any> => {
    while (!buf.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`${mode} server exited`);
      buf += Buffer.from(value).toString();
    }
    const i = buf.indexOf("\n");
    const l = buf.slice(0, i);
    buf = buf.slice(i + 1);
    return JSON.parse(l);
  };
  const hello = await line();
  const stdin = proc.stdin as import("bun").FileSink;
  return {
    proc,
    url: hello.url,
    tokens: hello.tokens,
    ask: async (cmd) => {
      stdin.write(`${cmd}\n`);
      stdin.flush();
      return line();
    },
  };
}

function percentile(xs: Float64Array | number[], p: number): number {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function openAll(mode: "gateway" | "baseline", server: Server, latencies: number[]): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  const openOne = (t: number, j: number) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws =
        mode === "gateway"
          ? new WebSocket(server.url, { headers: { authorization: `Bearer ${server.tokens[t]}` } } as never)
          : new WebSocket(`${server.url}?${server.tokens[t]}`);
      ws.onopen = () => ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "sessions.subscribe", params: { sessionKeys: [`s${j}`] } }));
      ws.onerror = () => reject(new Error(`connection ${t}/${j} failed`));
      ws.onmessage = (e) => {
        const m = JSON.parse(String(e.data));
        if (m.id === 1) return resolve(ws);
        if (m.params?.t !== undefined) latencies.push(now() - m.params.t);
      };
    });
  const pairs: [number, number][] = [];
  for (let j = 0; j < perTenant; j++) for (let t = 0; t < tenants; t++) pairs.push([t, j]);
  for (let i = 0; i < pairs.length; i += 100) sockets.push(...(await Promise.all(pairs.slice(i, i + 100).map(([t, j]) => openOne(t, j)))));
  return sockets;
}

interface Run {
  rssBefore: number;
  rssAfter: number;
  perConnectionBytes: number;
  published: number;
  received: number;
  /** Time inside publish() per event, in the server (µs): what the server itself adds. */
  publishUsPerEvent: number;
  publishMaxUs: number;
  p50ms: number;
  p99ms: number;
  maxms: number;
}

async function once(mode: "gateway" | "baseline"): Promise<Run> {
  const server = await startServer(mode);
  await Bun.sleep(500);
  const before = (await server.ask("stats")).rss as number;
  const latencies: number[] = [];
  const sockets = await openAll(mode, server, latencies);
  await Bun.sleep(2000);
  const after = (await server.ask("stats")).rss as number;
  // A second of warm-up at the full rate, not counted.
  await server.ask(`publish ${rate} 1`);
  await Bun.sleep(300);
  latencies.length = 0;
  const { published, publishUsPerEvent, publishMaxUs } = await server.ask(`publish ${rate} ${seconds}`);
  await Bun.sleep(500);
  for (const s of sockets) s.close();
  await server.ask("exit").catch(() => null);
  server.proc.kill();
  return {
    rssBefore: before,
    rssAfter: after,
    perConnectionBytes: Math.round((after - before) / N),
    published,
    received: latencies.length,
    publishUsPerEvent: Number(publishUsPerEvent.toFixed(2)),
    publishMaxUs: Number(publishMaxUs.toFixed(1)),
    p50ms: Number(percentile(latencies, 50).toFixed(3)),
    p99ms: Number(percentile(latencies, 99).toFixed(3)),
    maxms: Number(percentile(latencies, 100).toFixed(3)),
  };
}

const results: Record<"gateway" | "baseline", Run[]> = { gateway: [], baseline: [] };
for (let r = 0; r < runs; r++) {
  for (const mode of r % 2 === 0 ? (["gateway", "baseline"] as const) : (["baseline", "gateway"] as const)) {
    const x = await once(mode);
    results[mode].push(x);
    console.error(`run ${r + 1} ${mode}: ${JSON.stringify(x)}`);
  }
}

const summary = (xs: Run[]) => ({
  perConnectionBytes: median(xs.map((x) => x.perConnectionBytes)),
  p50ms: median(xs.map((x) => x.p50ms)),
  p99ms: median(xs.map((x) => x.p99ms)),
  publishUsPerEvent: median(xs.map((x) => x.publishUsPerEvent)),
  delivered: `${xs.reduce((a, x) => a + x.received, 0)}/${xs.reduce((a, x) => a + x.published, 0)}`,
});
const result = {
  benchmark: "ws",
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, bun: Bun.version },
  method: `${N} WebSocket connections (${tenants} tenants × ${perTenant}), each subscribed to its own session; RSS after full GC before/after opening them; then ${rate} events/s for ${seconds} s round-robin over the connections (after 1 s warm-up), publish→receive; ${runs} alternating runs, medians; server and client are separate processes`,
  command: `bun bench/ws.ts --runs ${runs} --tenants ${tenants} --per-tenant ${perTenant} --rate ${rate} --seconds ${seconds}`,
  targets: { perConnectionBytes: 32 * 1024, p99ms: 5 },
  gateway: summary(results.gateway),
  baseline: summary(results.baseline),
  runs: results,
};
console.log(JSON.stringify(result, null, 2));
saveResult("ws", result);
