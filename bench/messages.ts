// Issue 15 benchmark: POST /v1/messages added latency at concurrency 1, side by side with chat
// completions, and against Portkey's /v1/messages. A minimal client (one Bun process: send, read the
// whole answer, record, next — as c1-client.ts) measures, alternating, each target against the fake
// provider directly and through the compiled gateway (governed: token, admission on all four quota
// limits, ledger row); added latency = through − direct, medians over the runs.
//
//   bun bench/messages.ts --runs 5 --seconds 5 [--connections 64]   # --no-peers leaves Portkey out
//
// Then governed throughput on the same endpoint (wrk -t2 -c64, POST /v1/messages natively to the
// anthropic-kind fake): the gateway (token, admission on all four quota limits, ledger row) against
// Portkey forwarding /v1/messages, on Node and on Bun, each measured alone (the others SIGSTOPped)
// after a 1 s warm-up, alternating over the runs; medians and the ratio.
//
// Targets: Messages natively to an anthropic-kind provider (claude-x), Messages translated to an
// openai-kind one (gpt-4o-mini), chat completions (gpt-4o-mini); Portkey (npm @portkey-ai/gateway,
// installed into bench/.work like routing.ts does) forwarding /v1/messages to the fake as Anthropic.
import fs from "node:fs";
import path from "node:path";
import { arg, ensureBinary, freePort, median, ROOT, saveResult, startGovernedGateway, startJsonPrinter, wrk, type WrkResult } from "./lib.ts";

interface Target {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const messagesBody = (model: string) => JSON.stringify({ model, max_tokens: 64, messages: [{ role: "user", content: "hello" }] });
const chatBody = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }] });

if (process.argv[2] === "--client") {
  const t = JSON.parse(process.argv[3]!) as Target;
  const secs = Number(process.argv[4]);
  const times: number[] = [];
  const end = performance.now() + secs * 1000;
  while (performance.now() < end) {
    const s = performance.now();
    const r = await fetch(t.url, { method: "POST", body: t.body, headers: t.headers });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`HTTP ${r.status} from ${t.url}`);
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(times.length * p))]!;
  console.log(JSON.stringify({ n: times.length, p50: q(0.5), p99: q(0.99) }));
  process.exit(0);
}

function ensurePortkey(): string {
  const work = path.join(ROOT, "bench", ".work");
  const entry = path.join(work, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");
  if (!fs.existsSync(entry)) {
    fs.mkdirSync(work, { recursive: true });
    if (!fs.existsSync(path.join(work, "package.json"))) fs.writeFileSync(path.join(work, "package.json"), '{"private":true}\n');
    const r = Bun.spawnSync(["npm", "install", "--no-audit", "--no-fund", "@portkey-ai/gateway@1.15.2"], { cwd: work, stdout: "inherit", stderr: "inherit" });
    if (r.exitCode !== 0) throw new Error("could not install @portkey-ai/gateway");
  }
  return entry;
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await Bun.sleep(100);
    }
  }
  throw new Error(`${url} did not come up`);
}

const RUNS = arg("--runs", 5);
const SECONDS = arg("--seconds", 5);
const CONNECTIONS = arg("--connections", 64);
const peers = !process.argv.includes("--no-peers");
const bin = ensureBinary();
const fake = await startJsonPrinter(["bun", "tests/fake-provider/main.ts", "0"]);
const gateway = await startGovernedGateway(bin, fake.url, "bench-messages-", {
  providers: { claude: { kind: "anthropic", baseUrl: fake.url, apiKey: "ak-fake" } },
  models: { "claude-x": { provider: "claude", upstreamModel: "claude-fake" } },
  billing: { rateCard: { "claude-x": { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 } } },
});
const portkeyPort = freePort();
const portkey = peers ? Bun.spawn(["node", ensurePortkey(), `--port=${portkeyPort}`], { cwd: ROOT, stdout: "ignore", stderr: "ignore" }) : null;
const portkeyBunPort = freePort();
const portkeyBun = peers ? Bun.spawn(["bun", ensurePortkey(), `--port=${portkeyBunPort}`], { cwd: ROOT, stdout: "ignore", stderr: "ignore" }) : null;
const json = { "content-type": "application/json" };
const anthropic = { ...json, "anthropic-version": "2023-06-01" };

const pairs: Record<string, { direct: Target; through: Target }> = {
  messagesNative: {
    direct: { url: `${fake.url}/v1/messages`, headers: { ...anthropic, "x-api-key": "ak-fake" }, body: messagesBody("claude-fake") },
    through: { url: `${gateway.url}/v1/messages`, headers: { ...anthropic, "x-api-key": gateway.token }, body: messagesBody("claude-x") },
  },
  messagesTranslated: {
    direct: { url: `${fake.url}/v1/chat/completions`, headers: { ...json, authorization: "Bearer sk-fake" }, body: chatBody },
    through: { url: `${gateway.url}/v1/messages`, headers: { ...anthropic, "x-api-key": gateway.token }, body: messagesBody("gpt-4o-mini") },
  },
  chat: {
    direct: { url: `${fake.url}/v1/chat/completions`, headers: { ...json, authorization: "Bearer sk-fake" }, body: chatBody },
    through: { url: `${gateway.url}/v1/chat/completions`, headers: { ...json, authorization: `Bearer ${gateway.token}` }, body: chatBody },
  },
};
if (portkey) {
  pairs.portkeyMessages = {
    direct: pairs.messagesNative!.direct,
    through: {
      url: `http://127.0.0.1:${portkeyPort}/v1/messages`,
      headers: { ...anthropic, "x-api-key": "ak-fake", "x-portkey-provider": "anthropic", "x-portkey-custom-host": `${fake.url}/v1` },
      body: messagesBody("claude-fake"),
    },
  };
}

async function client(t: Target, secs: number): Promise<{ n: number; p50: number; p99: number }> {
  const p = Bun.spawn(["bun", import.meta.path, "--client", JSON.stringify(t), String(secs)], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`client against ${t.url} failed`);
  return JSON.parse(out) as { n: number; p50: number; p99: number };
}

/** Governed throughput on /v1/messages: each target alone (the others paused), alternating, medians. */
async function throughput(): Promise<Record<string, { rps: number; p50ms: number; p99ms: number; errors: number; runs: WrkResult[] }> | null> {
  if (!portkey || !portkeyBun) return null;
  const anthropicPk = (port: number): Target => ({
    url: `http://127.0.0.1:${port}/v1/messages`,
    headers: { ...anthropic, "x-api-key": "ak-fake", "x-portkey-provider": "anthropic", "x-portkey-custom-host": `${fake.url}/v1` },
    body: messagesBody("claude-fake"),
  });
  const targets: Record<string, { t: Target; proc: { kill(sig?: number | NodeJS.Signals): void } }> = {
    gateway: { t: pairs.messagesNative!.through, proc: gateway.proc },
    portkey: { t: anthropicPk(portkeyPort), proc: portkey },
    portkeyOnBun: { t: anthropicPk(portkeyBunPort), proc: portkeyBun },
  };
  const only = (name: string) => {
    for (const [n, x] of Object.entries(targets)) x.proc.kill(n === name ? "SIGCONT" : "SIGSTOP");
  };
  const load = (t: Target, secs: number) => wrk(t.url, { method: "POST", body: t.body, headers: t.headers, connections: CONNECTIONS, threads: 2, seconds: secs });
  const out: Record<string, WrkResult[]> = {};
  try {
    for (let i = 0; i < RUNS; i++) {
      const order = Object.keys(targets);
      for (const name of i % 2 ? order.reverse() : order) {
        only(name);
        load(targets[name]!.t, 1);
        const r = load(targets[name]!.t, SECONDS);
        (out[name] ??= []).push(r);
        console.log(`run ${i + 1} throughput ${name}: ${r.rps.toFixed(0)} requests/s, p50 ${r.p50ms} ms, p99 ${r.p99ms} ms, errors ${r.errors}`);
      }
    }
  } finally {
    for (const x of Object.values(targets)) x.proc.kill("SIGCONT");
  }
  return Object.fromEntries(
    Object.entries(out).map(([n, rs]) => [n, { rps: Math.round(median(rs.map((r) => r.rps))), p50ms: median(rs.map((r) => r.p50ms)), p99ms: median(rs.map((r) => r.p99ms)), errors: rs.reduce((a, r) => a + r.errors, 0), runs: rs }]),
  );
}

try {
  if (portkey) await waitFor(`http://127.0.0.1:${portkeyPort}/`);
  if (portkeyBun) await waitFor(`http://127.0.0.1:${portkeyBunPort}/`);
  portkeyBun?.kill("SIGSTOP");
  for (const p of Object.values(pairs)) {
    await client(p.through, 2);
    await client(p.direct, 1);
  }
  const runs: Record<string, { direct: { p50: number; p99: number }[]; through: { p50: number; p99: number }[] }> = {};
  for (let i = 0; i < RUNS; i++) {
    for (const [name, p] of Object.entries(pairs)) {
      const d = await client(p.direct, SECONDS);
      const g = await client(p.through, SECONDS);
      (runs[name] ??= { direct: [], through: [] }).direct.push({ p50: d.p50, p99: d.p99 });
      runs[name]!.through.push({ p50: g.p50, p99: g.p99 });
      console.log(`run ${i + 1} ${name}: direct p50 ${d.p50.toFixed(3)} p99 ${d.p99.toFixed(3)} ms · through p50 ${g.p50.toFixed(3)} p99 ${g.p99.toFixed(3)} ms`);
    }
  }
  const m = (xs: { p50: number; p99: number }[], k: "p50" | "p99") => +median(xs.map((x) => x[k])).toFixed(3);
  const summary = Object.fromEntries(
    Object.entries(runs).map(([name, r]) => [
      name,
      { direct: { p50ms: m(r.direct, "p50"), p99ms: m(r.direct, "p99") }, through: { p50ms: m(r.through, "p50"), p99ms: m(r.through, "p99") }, addedP50ms: +(m(r.through, "p50") - m(r.direct, "p50")).toFixed(3), addedP99ms: +(m(r.through, "p99") - m(r.direct, "p99")).toFixed(3) },
    ]),
  );
  // Portkey on Bun is paused (SIGSTOP) through the c=1 runs above: its background work is not theirs.
  const tput = await throughput();
  const ratios = tput ? { gatewayOverPortkey: +(tput.gateway!.rps / tput.portkey!.rps).toFixed(2), gatewayOverPortkeyOnBun: +(tput.gateway!.rps / tput.portkeyOnBun!.rps).toFixed(2) } : null;
  const result = { date: new Date().toISOString(), command: `bun bench/messages.ts --runs ${RUNS} --seconds ${SECONDS} --connections ${CONNECTIONS}${peers ? "" : " --no-peers"}`, summary, throughput: tput && { connections: CONNECTIONS, ...tput, ratios }, runs };
  console.log(JSON.stringify({ summary, throughput: tput && Object.fromEntries(Object.entries(tput).map(([n, v]) => [n, { rps: v.rps, p50ms: v.p50ms, p99ms: v.p99ms, errors: v.errors }])), ratios }, null, 2));
  saveResult("messages", result);
} finally {
  gateway.proc.kill();
  fake.proc.kill();
  portkey?.kill();
  portkeyBun?.kill();
}
