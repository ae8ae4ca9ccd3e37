// tenants.get round trips per second over loopback HTTP through the compiled gateway (token check,
// JSON-RPC dispatch, SQLite reads), beside a bare Bun server answering a constant, in the same run.
// Usage: bun bench/rpc-http.ts [--runs 5] [--seconds 5] [--connections 32]
import os from "node:os";
import { arg, ensureBinary, median, saveResult, startJsonPrinter, tmpdir, wrk } from "./lib.ts";

const runs = arg("--runs", 5);
const seconds = arg("--seconds", 5);
const connections = arg("--connections", 32);

const bin = ensureBinary();
const home = tmpdir("bench-rpc-");
const created = Bun.spawnSync([bin, "tenants", "create", "acme", "--json"], { env: { ...process.env, OPENCLAW_HOME: home }, stdout: "pipe" });
const token = (JSON.parse(created.stdout.toString()) as { token: string }).token;

const gateway = await startJsonPrinter([bin, "gateway", "--port", "0", "--json"], { OPENCLAW_HOME: home });
const baseline = await startJsonPrinter(["bun", "bench/baseline-server.ts", "0"]);
const request = {
  method: "POST",
  body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tenants.get" }),
  headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  connections,
  threads: 2,
  seconds,
};

// Warm both, then alternate so noise on this shared machine hits both alike.
wrk(`${gateway.url}/rpc`, { ...request, seconds: 2 });
wrk(`${baseline.url}/rpc`, { ...request, seconds: 2 });
const g: ReturnType<typeof wrk>[] = [];
const b: ReturnType<typeof wrk>[] = [];
for (let i = 0; i < runs; i++) {
  b.push(wrk(`${baseline.url}/rpc`, request));
  g.push(wrk(`${gateway.url}/rpc`, request));
}
gateway.proc.kill("SIGTERM");
baseline.proc.kill("SIGTERM");

const result = {
  benchmark: "rpc-http",
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, bun: Bun.version },
  method: `wrk -t2 -c${connections} -d${seconds}s, POST /rpc tenants.get with a tenant token; ${runs} alternating runs, medians`,
  gateway: { rps: Math.round(median(g.map((x) => x.rps))), p50ms: median(g.map((x) => x.p50ms)), p99ms: median(g.map((x) => x.p99ms)), errors: g.reduce((a, x) => a + x.errors, 0) },
  baseline: { rps: Math.round(median(b.map((x) => x.rps))), p50ms: median(b.map((x) => x.p50ms)), p99ms: median(b.map((x) => x.p99ms)), errors: b.reduce((a, x) => a + x.errors, 0) },
  ratio: Number((median(g.map((x) => x.rps)) / median(b.map((x) => x.rps))).toFixed(3)),
  runsRps: { gateway: g.map((x) => Math.round(x.rps)), baseline: b.map((x) => Math.round(x.rps)) },
};
console.log(JSON.stringify(result, null, 2));
saveResult("rpc-http", result);
