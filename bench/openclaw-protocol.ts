// Issue 14, benchmark 7: one agent turn through upstream's own CLI (`openclaw agent --message`, the
// pinned openclaw package under Node 24) against upstream's gateway and against ours (protocol v4 on
// `/`), side by side in one run, same fake provider (its own process; by default it times each model
// call itself, `--timing proxy` puts the older timing proxy of agent-turn-lib.ts in front of it).
//
// Each turn is a fresh CLI process (what a user runs), pointed at a gateway through a frame tap
// (tests/clients/ws-tap.ts) that timestamps every frame. Per turn:
//   gatewayMs  from the tap seeing the CLI's `agent` request to the tap seeing its final `res` (the
//              second response on the same id), i.e. the gateway's whole part of the turn
//   providerMs the union of the model calls' intervals inside that window, as the fake provider timed
//              them in its own process (--timing fake, the default: handler entered → answer's last
//              byte produced), or as the timing proxy in this process did (--timing proxy: its hop to
//              the fake and its relay back to the gateway then count as the gateway's)
//   addedMs    gatewayMs − providerMs: what the gateway adds to the turn
//   connectMs  connect request → hello-ok, for each of the CLI's connections (median)
//   wallMs     the CLI process's whole run (its own Node start-up is the same for both gateways)
// Rounds alternate the gateways; the gateway not being measured is paused (SIGSTOP, its whole process
// tree). Start-up: spawn → ready (upstream /readyz, ours /healthz). Memory: RSS of the gateway process
// idle (--settle s after ready) and after all the turns.
//
// Usage: nice -n 10 bun bench/openclaw-protocol.ts [--rounds 5] [--turns 6] [--warmup 1] [--settle 15] [--timing fake|proxy] [--upstream DIR]
//   --upstream DIR  where Node 24 + openclaw are installed (default: .cache/openclaw-upstream, as scripts/lib.sh
//                   ensure_openclaw_clients installs it, or OPENCLAW_UPSTREAM_DIR)
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startTap, type Frame } from "../tests/clients/ws-tap.ts";
import { memoryOf, providerTimeWithin, signalTree, startFakeAndUpstream, UPSTREAM_TOKEN, waitReady } from "./agent-turn-lib.ts";
import { arg, deepMerge, ensureBinary, median, ROOT, saveResult, startJsonPrinter, tmpdir } from "./lib.ts";

const rounds = arg("--rounds", 5);
const turnsPerRound = arg("--turns", 6);
const warmup = arg("--warmup", 1);
const settleS = arg("--settle", 15);
const i = process.argv.indexOf("--upstream");
const upstreamDir = path.resolve(i >= 0 ? process.argv[i + 1]! : (process.env.OPENCLAW_UPSTREAM_DIR ?? path.join(ROOT, ".cache", "openclaw-upstream")));
const node = path.join(upstreamDir, "node_modules", "node", "bin", "node");
const entry = path.join(upstreamDir, "node_modules", "openclaw", "openclaw.mjs");
const loadAtStart = os.loadavg();
const ti = process.argv.indexOf("--timing");
const timing = ti >= 0 ? process.argv[ti + 1] : "fake";
if (timing !== "fake" && timing !== "proxy") throw new Error(`--timing must be fake or proxy, not ${timing}`);

// Upstream first and alone (its start-up is measured, and takes a while).
const { children, cleanup, model, upstream, upstreamReadyMs } = await startFakeAndUpstream(upstreamDir, { timing });

// Ours: the compiled binary, one tenant, agents on the fake (as upstream's: --timing); ready = spawn → /healthz.
const bin = ensureBinary();
const oursHome = tmpdir("bench-v4-ours-");
const oursConfig = deepMerge(
  {
    providers: { fake: { kind: "openai", baseUrl: `${model.url}/v1`, apiKey: "sk-fake" } },
    models: { "gpt-4o-mini": { provider: "fake", upstreamModel: "fake-mini" } },
    billing: { rateCard: { "gpt-4o-mini": { input: 0.15, output: 0.6, cacheRead: 0.075 } } },
    quotas: { defaults: { tokensPerDay: 1e12, costPerDayUsd: 1e6, requestsPerMinute: 1e9, maxConcurrent: 1e6 } },
  },
  { agents: { defaults: { model: "gpt-4o-mini" } } },
);
fs.writeFileSync(path.join(oursHome, "openclaw.json"), JSON.stringify(oursConfig));
const created = Bun.spawnSync([bin, "tenants", "create", "bench", "--json"], { env: { ...process.env, OPENCLAW_HOME: oursHome }, stdout: "pipe", stderr: "pipe" });
if (created.exitCode !== 0) throw new Error(`tenants create failed: ${created.stderr}`);
const oursToken = (JSON.parse(created.stdout.toString()) as { token: string }).token;
const oursStart = performance.now();
const ours = await startJsonPrinter([bin, "gateway", "--port", "0", "--json"], { OPENCLAW_HOME: oursHome }, { stderr: "ignore" });
children.push(ours.proc);
await waitReady(`${ours.url}/healthz`, ours.proc, 60_000);
const oursReadyMs = performance.now() - oursStart;

await Bun.sleep(settleS * 1000);
const idle = { upstream: memoryOf(upstream.proc.pid), ours: memoryOf(ours.proc.pid) };

type Name = "upstream" | "ours";
const taps = { upstream: startTap(upstream.url.replace(/^http/, "ws")), ours: startTap(ours.url.replace(/^http/, "ws")) };
const tokens = { upstream: UPSTREAM_TOKEN, ours: oursToken };
const pids = { upstream: upstream.proc.pid, ours: ours.proc.pid };

interface Turn {
  wallMs: number;
  gatewayMs: number;
  providerMs: number;
  addedMs: number;
  connectMs: number;
  modelCalls: number;
}

const cliHome = tmpdir("bench-v4-cli-");
fs.mkdirSync(path.join(cliHome, "home"), { recursive: true });
fs.writeFileSync(path.join(cliHome, "openclaw.json"), "{}\n");

async function turn(name: Name, n: number): Promise<Turn> {
  const tap = taps[name];
  tap.frames.length = 0;
  await model.take(); // calls of an earlier turn (none expected) are not this turn's
  const env = {
    PATH: `${path.dirname(node)}:/usr/bin:/bin`,
    HOME: path.join(cliHome, "home"),
    OPENCLAW_STATE_DIR: path.join(cliHome, `state-${name}`),
    OPENCLAW_CONFIG_PATH: path.join(cliHome, "openclaw.json"),
    OPENCLAW_GATEWAY_URL: tap.url,
    OPENCLAW_GATEWAY_TOKEN: tokens[name],
    NO_COLOR: "1",
  };
  const t0 = performance.now();
  const proc = Bun.spawn([node, entry, "agent", "--message", `Say hello in five words (turn ${n}).`, "--json"], { cwd: cliHome, env, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  const wallMs = performance.now() - t0;
  const parsed = (() => {
    try {
      return JSON.parse(out.slice(out.indexOf("{"))) as { status?: string; result?: { payloads?: { text?: string }[] } };
    } catch {
      return null;
    }
  })();
  if (proc.exitCode !== 0 || parsed?.status !== "ok" || !parsed.result?.payloads?.[0]?.text) {
    throw new Error(`${name}: openclaw agent failed (exit ${proc.exitCode}):\n${out.slice(-1500)}\n${err.slice(-1500)}\nframes:\n${tap.transcript(20)}`);
  }
  const frames: Frame[] = tap.frames.slice();
  const req = frames.find((f) => f.dir === ">" && f.data.includes('"method":"agent"'));
  const id = req ? (JSON.parse(req.data) as { id: string }).id : null;
  const final = frames.filter((f) => f.dir === "<" && id !== null && f.data.includes(`"id":${JSON.stringify(id)}`)).find((f) => (JSON.parse(f.data) as { payload?: { status?: string } }).payload?.status !== "accepted");
  if (!req || !final) throw new Error(`${name}: no agent request/final response among the frames:\n${tap.transcript(20)}`);
  const connects = frames.filter((f) => f.dir === ">" && f.data.includes('"method":"connect"'));
  const connectMs = median(
    connects.map((c) => {
      const cid = (JSON.parse(c.data) as { id: string }).id;
      const hello = frames.find((f) => f.dir === "<" && f.data.includes(`"id":${JSON.stringify(cid)}`));
      return hello ? hello.t - c.t : Number.NaN;
    }),
  );
  // The tap's times are this process's performance.now(); the model calls' are absolute.
  const p = providerTimeWithin(await model.take(), req.t + performance.timeOrigin, final.t + performance.timeOrigin);
  if (p.count === 0) throw new Error(`${name}: the turn made no model call through the fake provider`);
  return { wallMs, gatewayMs: final.t - req.t, providerMs: p.ms, addedMs: final.t - req.t - p.ms, connectMs, modelCalls: p.count };
}

const only = (name: Name) => {
  for (const n of ["upstream", "ours"] as Name[]) signalTree(pids[n], n === name ? "SIGCONT" : "SIGSTOP");
};

let seq = 0;
for (const n of ["upstream", "ours"] as Name[]) {
  only(n);
  for (let k = 0; k < warmup; k++) await turn(n, seq++);
}
const measured: Record<Name, Turn[]> = { upstream: [], ours: [] };
for (let r = 0; r < rounds; r++) {
  for (const n of (r % 2 ? ["ours", "upstream"] : ["upstream", "ours"]) as Name[]) {
    only(n);
    await turn(n, seq++); // after SIGCONT the gateway's timers catch up: not measured
    for (let k = 0; k < turnsPerRound; k++) measured[n].push(await turn(n, seq++));
  }
  console.error(`round ${r + 1}/${rounds}: ${(["upstream", "ours"] as Name[]).map((n) => `${n} added p50 ${median(measured[n].map((t) => t.addedMs)).toFixed(2)} ms`).join(", ")}`);
}
signalTree(upstream.proc.pid, "SIGCONT");
signalTree(ours.proc.pid, "SIGCONT");
await Bun.sleep(2000);
const after = { upstream: memoryOf(upstream.proc.pid), ours: memoryOf(ours.proc.pid) };

const r3 = (x: number) => Number(x.toFixed(3));
const summary = (ts: Turn[]) => ({
  turns: ts.length,
  addedP50ms: r3(median(ts.map((t) => t.addedMs))),
  gatewayP50ms: r3(median(ts.map((t) => t.gatewayMs))),
  providerP50ms: r3(median(ts.map((t) => t.providerMs))),
  connectP50ms: r3(median(ts.map((t) => t.connectMs))),
  cliWallP50ms: r3(median(ts.map((t) => t.wallMs))),
  modelCallsPerTurn: r3(median(ts.map((t) => t.modelCalls))),
});
const sums = { upstream: summary(measured.upstream), ours: summary(measured.ours) };
const ratio = (a: number, b: number) => (b > 0 ? Number((a / b).toFixed(1)) : null);
const version = (p: string) => JSON.parse(fs.readFileSync(p, "utf8")).version as string;

const result = {
  benchmark: "openclaw-protocol",
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, bun: Bun.version, upstreamNode: Bun.spawnSync([node, "--version"]).stdout.toString().trim(), loadAverageAtStart: loadAtStart.map(r3), loadAverageAtEnd: os.loadavg().map(r3) },
  timing,
  upstream: { package: `openclaw@${version(path.join(upstreamDir, "node_modules", "openclaw", "package.json"))}`, readyAfterMs: Math.round(upstreamReadyMs) },
  ours: { binary: "dist/openclaw (compiled)", readyAfterMs: Math.round(oursReadyMs) },
  method:
    `openclaw agent --message <m> --json (a fresh CLI process per turn, upstream's CLI for both) through a frame tap to each gateway; ` +
    `added = (tap: agent request → its final res) − the union of the turn's model-call intervals ${timing === "fake" ? "as the fake provider timed them in its own process (the gateways call it directly)" : "at the timing proxy in front of the fake provider"}; ` +
    `${warmup} warm-up turn(s) each, then ${rounds} rounds × ${turnsPerRound} turns per gateway, alternating order, the other gateway SIGSTOPped, one unmeasured turn after each resume; ` +
    `ready = spawn → /readyz (upstream) or /healthz (ours); memory = VmRSS of the gateway process (and its tree), idle ${settleS} s after ready and 2 s after the turns.`,
  command: `nice -n 10 bun bench/openclaw-protocol.ts ${process.argv.slice(2).join(" ")}`.trim(),
  turns: sums,
  memory: { idle, afterTurns: after },
  ratios: {
    addedP50: ratio(sums.upstream.addedP50ms, sums.ours.addedP50ms),
    connectP50: ratio(sums.upstream.connectP50ms, sums.ours.connectP50ms),
    readyAfter: ratio(upstreamReadyMs, oursReadyMs),
    rssIdle: ratio(idle.upstream.rssMB, idle.ours.rssMB),
    rssAfterTurns: ratio(after.upstream.rssMB, after.ours.rssMB),
  },
  targets: { addedRatioAtLeast: 50, oursReadyAtMostMs: 1000, oursRssAtMostMB: 150 },
  targetsMet: {
    added: (ratio(sums.upstream.addedP50ms, sums.ours.addedP50ms) ?? 0) >= 50,
    ready: oursReadyMs <= 1000,
    rss: Math.max(idle.ours.rssMB, after.ours.rssMB) <= 150,
  },
  perTurnAddedMs: { upstream: measured.upstream.map((t) => r3(t.addedMs)), ours: measured.ours.map((t) => r3(t.addedMs)) },
};
console.log(JSON.stringify(result, null, 2));
saveResult("openclaw-protocol", result);
taps.upstream.stop();
taps.ours.stop();
model.stop();
cleanup();
for (const dir of [upstream.home, oursHome, cliHome]) fs.rmSync(dir, { recursive: true, force: true });
