// Routing benchmarks, all in one run on loopback against the same fake provider with the same load
// tool (wrk; a Bun client for streaming TTFB):
//   (a) added latency at concurrency 1: p50/p99 through the gateway minus direct to the provider;
//   (b) maximum throughput with authentication, quota admission and ledger writes on;
//   (c) the same through Portkey's open-source gateway (npm @portkey-ai/gateway), and the ratio —
//       on Node, its documented runtime, and on Bun (the runtime we use) for a like-for-like row;
//   (d) streaming time-to-first-byte overhead.
//   (e) with --baseline BIN: the same gateway measurements for another build of it (a previous
//       commit's dist/openclaw), side by side, and the ratios.
// Usage: bun bench/routing.ts [--runs 5] [--seconds 8] [--connections 64] [--baseline BIN] [--no-peers]
// Needs wrk, and Portkey installed in bench/.work (the script installs it with npm if missing;
// --no-peers leaves Portkey out).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { arg, ensureBinary, freePort, median, ROOT, saveResult, startGovernedGateway, startJsonPrinter, wrk, type WrkResult } from "./lib.ts";

const runs = arg("--runs", 5);
const seconds = arg("--seconds", 8);
const connections = arg("--connections", 64);
const baselineAt = process.argv.indexOf("--baseline");
const baselineBin = baselineAt >= 0 ? process.argv[baselineAt + 1] : undefined;
const peers = !process.argv.includes("--no-peers");

function ensurePortkey(): string {
  const work = path.join(ROOT, "bench", ".work");
  const entry = path.join(work, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");
  if (!fs.existsSync(entry)) {
    fs.mkdirSync(work, { recursive: true });
    fs.writeFileSync(path.join(work, "package.json"), '{"name":"bench-peers","private":true}\n');
    const r = Bun.spawnSync(["npm", "install", "--no-audit", "--no-fund", "@portkey-ai/gateway@1.15.2"], { cwd: work, stdout: "inherit", stderr: "inherit" });
    if (r.exitCode !== 0) throw new Error("could not install @portkey-ai/gateway");
  }
  return entry;
}

async function waitFor(url: string, init: RequestInit = {}): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(url, init);
      return;
    } catch {
      await Bun.sleep(100);
    }
  }
  throw new Error(`${url} did not come up`);
}

const bin = ensureBinary();
const fake = await startJsonPrinter(["bun", "tests/fake-provider/main.ts", "0"]);

const gateway = await startGovernedGateway(bin, fake.url, "bench-routing-");
const { token, home } = gateway;
const env = { OPENCLAW_HOME: home };
const baseline = baselineBin ? await startGovernedGateway(baselineBin, fake.url, "bench-routing-baseline-") : null;

const portkeyPort = freePort();
const portkeyBunPort = freePort();
const portkeyEntry = peers ? ensurePortkey() : "";
const portkey = peers ? Bun.spawn(["node", portkeyEntry, `--port=${portkeyPort}`], { cwd: ROOT, stdout: "ignore", stderr: "ignore" }) : null;
const portkeyBun = peers ? Bun.spawn(["bun", portkeyEntry, `--port=${portkeyBunPort}`], { cwd: ROOT, stdout: "ignore", stderr: "ignore" }) : null;
const children = [fake.proc, gateway.proc, ...(baseline ? [baseline.proc] : []), ...(portkey && portkeyBun ? [portkey, portkeyBun] : [])];
process.on("exit", () => children.forEach((c) => c.kill("SIGKILL")));
const portkeyUrl = `http://127.0.0.1:${portkeyPort}`;
const portkeyBunUrl = `http://127.0.0.1:${portkeyBunPort}`;
if (peers) {
  await waitFor(`${portkeyUrl}/`);
  await waitFor(`${portkeyBunUrl}/`);
}

const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "benchmark prompt, answer with sixteen words [[words:16]]" }] });
const allTargets = {
  direct: { url: `${fake.url}/v1/chat/completions`, headers: { "content-type": "application/json", authorization: "Bearer sk-fake" } },
  gateway: { url: `${gateway.url}/v1/chat/completions`, headers: { "content-type": "application/json", authorization: `Bearer ${token}` } },
  baseline: { url: `${baseline?.url}/v1/chat/completions`, headers: { "content-type": "application/json", authorization: `Bearer ${baseline?.token}` } },
  portkey: {
    url: `${portkeyUrl}/v1/chat/completions`,
    headers: { "content-type": "application/json", authorization: "Bearer sk-fake", "x-portkey-provider": "openai", "x-portkey-custom-host": `${fake.url}/v1` },
  },
  portkeyOnBun: {
    url: `${portkeyBunUrl}/v1/chat/completions`,
    headers: { "content-type": "application/json", authorization: "Bearer sk-fake", "x-portkey-provider": "openai", "x-portkey-custom-host": `${fake.url}/v1` },
  },
} as const;
type Name = keyof typeof allTargets;
const targets = allTargets as Record<Name, (typeof allTargets)[Name]>;
const names = (Object.keys(allTargets) as Name[]).filter((n) => (n !== "baseline" || baseline) && ((n !== "portkey" && n !== "portkeyOnBun") || peers));

// Only the target being measured runs (with the fake provider, which serves them all): the others are
// paused with SIGSTOP, so their own background work — Node's and Bun's timers and collections, the
// gateway's ledger and checkpoint threads — never lands in another target's figures on 2 shared cores.
const procOf: Partial<Record<Name, ReturnType<typeof Bun.spawn>>> = { gateway: gateway.proc };
if (baseline) procOf.baseline = baseline.proc;
if (portkey && portkeyBun) Object.assign(procOf, { portkey, portkeyOnBun: portkeyBun });
const only = (name: Name) => {
  for (const [n, p] of Object.entries(procOf)) if (n !== name) p.kill("SIGSTOP");
  procOf[name]?.kill("SIGCONT");
};
process.on("exit", () => Object.values(procOf).forEach((p) => p.kill("SIGCONT")));
const run = (name: Name, c: number, secs: number) => wrk(targets[name].url, { method: "POST", body, headers: targets[name].headers, connections: c, threads: c === 1 ? 1 : 2, seconds: secs });
/** Measures `name` alone, after a 1 s warm-up at the same concurrency (its timers catch up after SIGCONT). */
const load = (name: Name, c: number, secs: number) => {
  only(name);
  run(name, c, 1);
  return run(name, c, secs);
};
for (const n of names) {
  load(n, 1, 2);
  load(n, connections, 2);
}

const c1 = Object.fromEntries(names.map((n) => [n, [] as WrkResult[]])) as Record<Name, WrkResult[]>;
const cN = Object.fromEntries(names.map((n) => [n, [] as WrkResult[]])) as Record<Name, WrkResult[]>;
for (let r = 0; r < runs; r++) {
  for (const n of names) c1[n].push(load(n, 1, seconds));
  for (const n of names) cN[n].push(load(n, connections, seconds));
}

const ttfb = (name: Name) => {
  only(name);
  const t = targets[name];
  const headerArgs = Object.entries(t.headers).map(([k, v]) => `${k}=${v}`);
  const r = Bun.spawnSync(["bun", "bench/ttfb.ts", t.url, "300", ...headerArgs], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return JSON.parse(r.stdout.toString()) as { p50ms: number; p99ms: number };
};
// Portkey on Node fails every streaming request here ("TypeError: immutable" appending headers to
// the upstream response, Node 20's fetch); its Bun run streams fine and is measured instead.
const streamNames = names.filter((n) => n !== "portkey");
const tt = Object.fromEntries(streamNames.map((n) => [n, [] as { p50ms: number; p99ms: number }[]])) as Record<Name, { p50ms: number; p99ms: number }[]>;
for (let r = 0; r < Math.min(runs, 3); r++) for (const n of streamNames) tt[n].push(ttfb(n));

for (const p of Object.values(procOf)) p.kill("SIGCONT");
// The gateway's ledger holds every governed request it served.
const ledger = Bun.spawnSync([bin, "usage", "bench", "--json"], { env: { ...process.env, ...env }, stdout: "pipe" });
const ledgerRequests = (JSON.parse(ledger.stdout.toString()) as { requests: number }[]).reduce((a, r) => a + r.requests, 0);

for (const c of children) c.kill("SIGTERM");

const med = (xs: WrkResult[], k: keyof WrkResult) => Number(median(xs.map((x) => x[k])).toFixed(3));
const summary = (xs: WrkResult[]) => ({ rps: Math.round(med(xs, "rps")), p50ms: med(xs, "p50ms"), p99ms: med(xs, "p99ms"), errors: xs.reduce((a, x) => a + x.errors, 0) });
const c1s = Object.fromEntries(names.map((n) => [n, summary(c1[n])])) as Record<Name, ReturnType<typeof summary>>;
const cNs = Object.fromEntries(names.map((n) => [n, summary(cN[n])])) as Record<Name, ReturnType<typeof summary>>;
const tts = Object.fromEntries(streamNames.map((n) => [n, { p50ms: median(tt[n].map((x) => x.p50ms)), p99ms: median(tt[n].map((x) => x.p99ms)) }])) as Record<Name, { p50ms: number; p99ms: number }>;
const ms = (x: number) => Number(x.toFixed(3));

const result = {
  benchmark: "routing",
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, bun: Bun.version, node: Bun.spawnSync(["node", "--version"]).stdout.toString().trim() },
  baseline: baselineBin ?? null,
  method: `wrk --latency, POST /v1/chat/completions (non-streaming, 16-word answer) to the fake provider directly, through the compiled gateway (token auth, admission against all four quota limits, reservation, ledger write) and through Portkey 1.15.2 (node); c=1: -t1 -c1 -d${seconds}s; throughput: -t2 -c${connections} -d${seconds}s; ${runs} alternating runs each, medians; each target measured alone (the others paused with SIGSTOP) after a 1 s warm-up. TTFB: bun bench/ttfb.ts, 300 sequential streaming requests after 30 warm-up, ${Math.min(runs, 3)} runs, medians.`,
  concurrency1: {
    ...c1s,
    addedP50ms: Object.fromEntries(names.filter((n) => n !== "direct").map((n) => [n, ms(c1s[n].p50ms - c1s.direct.p50ms)])),
    addedP99ms: Object.fromEntries(names.filter((n) => n !== "direct").map((n) => [n, ms(c1s[n].p99ms - c1s.direct.p99ms)])),
  },
  throughput: {
    ...cNs,
    ...(peers ? { gatewayOverPortkey: Number((cNs.gateway.rps / cNs.portkey.rps).toFixed(2)), gatewayOverPortkeyOnBun: Number((cNs.gateway.rps / cNs.portkeyOnBun.rps).toFixed(2)) } : {}),
    ...(baseline ? { gatewayOverBaseline: Number((cNs.gateway.rps / cNs.baseline.rps).toFixed(3)) } : {}),
  },
  streamingTtfb: {
    ...tts,
    addedP50ms: Object.fromEntries(streamNames.filter((n) => n !== "direct").map((n) => [n, ms(tts[n].p50ms - tts.direct.p50ms)])),
    addedP99ms: Object.fromEntries(streamNames.filter((n) => n !== "direct").map((n) => [n, ms(tts[n].p99ms - tts.direct.p99ms)])),
  },
  ledgerRowsWritten: ledgerRequests,
  runs: { c1: Object.fromEntries(names.map((n) => [n, c1[n].map((x) => x.p99ms)])), throughputRps: Object.fromEntries(names.map((n) => [n, cN[n].map((x) => Math.round(x.rps))])) },
};
console.log(JSON.stringify(result, null, 2));
saveResult(baseline ? "routing-vs-baseline" : "routing", result);
