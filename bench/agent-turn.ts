// Issue 13, benchmark 8(d): the same agent turn through upstream OpenClaw and through OpenClawMU,
// side by side in one run, against the same fake provider (tests/fake-provider/main.ts, its own process).
//
// One turn = POST /v1/chat/completions {model: "openclaw/main", messages: [one user message]}, not
// streamed, no session header (each call is a fresh session on both gateways), answered by one model
// call that returns five words. Both gateways reach the fake through a timing proxy in this process
// that timestamps every model call; added time per turn = the turn's wall time minus the time its
// model calls took (the union of their intervals). Four targets, measured in the same rounds:
//   upstreamAgent  upstream OpenClaw's gateway (Node 24), model "openclaw/main" (its default agent)
//   oursAgent      our compiled gateway, model "openclaw/main" (the tenant's default agent)
//   oursModel      our compiled gateway, a plain governed model call ("gpt-4o-mini" routed to the fake):
//                  the reference for what the agent loop adds on top of routing
//   direct         the client straight to the proxy: the harness's own floor
// Each target is measured alone: the other gateways (with every process they started) are paused with
// SIGSTOP and resumed for their turn, then one warm-up turn. Memory: RSS and PSS of each gateway's
// process tree when idle after start (after --settle seconds) and after all the turns.
//
// Usage: nice -n 10 bun bench/agent-turn.ts [--rounds 5] [--turns 10] [--warmup 5] [--settle 15]
//          [--upstream DIR] [--upstream-only] [--ours-config JSON]
//   --upstream DIR    where upstream is installed (default bench/.work/upstream; see bench/README.md)
//   --upstream-only   our agent surface is not there yet: measure upstream and our plain model call
//   --ours-config J   JSON laid over our gateway's admin config (agent settings, if the default needs any)
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { cpuNs, memoryOf, type Memory, type ProviderCall, providerTimeWithin, signalTree, startFakeAndUpstream, UPSTREAM_TOKEN, waitReady } from "./agent-turn-lib.ts";
import { arg, ensureBinary, median, ROOT, saveResult, startGovernedGateway } from "./lib.ts";

const rounds = arg("--rounds", 5);
const turnsPerRound = arg("--turns", 10);
const warmup = arg("--warmup", 5);
const settleS = arg("--settle", 15);
const strArg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const upstreamDir = path.resolve(strArg("--upstream") ?? path.join(ROOT, "bench", ".work", "upstream"));
const upstreamOnly = process.argv.includes("--upstream-only");
const oursConfig = JSON.parse(strArg("--ours-config") ?? "{}") as Record<string, unknown>;
const loadAtStart = os.loadavg();

// Upstream first and alone: it takes its time to start, and the start-up is not what is measured.
const { children, cleanup, proxy, upstream, upstreamReadyMs } = await startFakeAndUpstream(upstreamDir);

const bin = ensureBinary();
const oursStart = performance.now();
const ours = await startGovernedGateway(bin, proxy.url, "bench-agent-turn-", oursConfig);
children.push(ours.proc);
await waitReady(`${ours.url}/healthz`, ours.proc, 60_000);
const oursReadyMs = performance.now() - oursStart; // includes creating the tenant (one CLI run)

await Bun.sleep(settleS * 1000);
const idle = { upstream: memoryOf(upstream.proc.pid), ours: memoryOf(ours.proc.pid) };

const message = "Say hello in five words.";
type Name = "upstreamAgent" | "oursAgent" | "oursModel" | "direct";
const targets: Record<Name, { url: string; token: string; model: string }> = {
  upstreamAgent: { url: upstream.url, token: UPSTREAM_TOKEN, model: "openclaw/main" },
  oursAgent: { url: ours.url, token: ours.token, model: "openclaw/main" },
  oursModel: { url: ours.url, token: ours.token, model: "gpt-4o-mini" },
  direct: { url: proxy.url, token: "sk-fake", model: "fake-model" },
};

interface Turn {
  wallMs: number;
  providerMs: number;
  addedMs: number;
  modelCalls: number;
  requestBytes: number;
  promptTokens: number;
  shape: ProviderCall["shape"];
}

async function turn(name: Name): Promise<Turn> {
  const t = targets[name];
  const from = performance.now();
  const res = await fetch(`${t.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${t.token}` },
    body: JSON.stringify({ model: t.model, messages: [{ role: "user", content: message }] }),
    signal: AbortSignal.timeout(180_000),
  });
  const text = await res.text();
  const to = performance.now();
  let body: { choices?: { message?: { content?: string } }[]; usage?: { prompt_tokens?: number } } = {};
  try {
    body = JSON.parse(text);
  } catch {}
  const content = body.choices?.[0]?.message?.content;
  if (!res.ok || typeof content !== "string" || content.length === 0) {
    throw new Error(`${name}: POST ${t.url}/v1/chat/completions (model ${t.model}) answered ${res.status}: ${text.slice(0, 600)}`);
  }
  const p = providerTimeWithin(proxy.calls, from, to);
  if (p.count === 0) throw new Error(`${name}: the turn made no model call through the fake provider (answer: ${content.slice(0, 200)})`);
  proxy.calls.length = 0;
  return { wallMs: to - from, providerMs: p.ms, addedMs: to - from - p.ms, modelCalls: p.count, requestBytes: p.requestBytes, promptTokens: body.usage?.prompt_tokens ?? 0, shape: p.shape };
}

// Our agent surface: present, or a clear failure (or, with --upstream-only, left out and said so).
let oursAgentMissing: string | null = null;
try {
  await turn("oursAgent");
} catch (e) {
  oursAgentMissing = `OpenClawMU's agent surface is not there yet (POST /v1/chat/completions with model "openclaw/main" must run the tenant's default agent): ${(e as Error).message}`;
  if (!upstreamOnly) {
    console.error(`${oursAgentMissing}\nRun with --upstream-only to measure upstream and our plain model call only, or --ours-config '<json>' if the agent needs admin settings.`);
    process.exit(1);
  }
  console.error(`${oursAgentMissing}\n(--upstream-only: measuring upstream and our plain model call)`);
}
const names = (["upstreamAgent", "oursAgent", "oursModel", "direct"] as Name[]).filter((n) => n !== "oursAgent" || !oursAgentMissing);

const pausable: Partial<Record<Name, number>> = { upstreamAgent: upstream.proc.pid, oursAgent: ours.proc.pid, oursModel: ours.proc.pid };
const only = (name: Name) => {
  const keep = pausable[name];
  for (const pid of new Set(Object.values(pausable))) if (pid !== keep) signalTree(pid, "SIGSTOP");
  if (keep) signalTree(keep, "SIGCONT");
};

for (const n of names) {
  only(n);
  for (let i = 0; i < warmup; i++) await turn(n);
}
const measured = Object.fromEntries(names.map((n) => [n, [] as Turn[]])) as Record<Name, Turn[]>;
/** CPU the gateway's process tree used per measured turn, one figure per round (the client's is not in it). */
const cpuPerTurnMs = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Name, number[]>;
for (let r = 0; r < rounds; r++) {
  for (const n of names) {
    only(n);
    await turn(n); // after SIGCONT, the gateway's timers catch up: not measured
    const pid = pausable[n];
    const cpu0 = pid ? cpuNs(pid) : 0;
    for (let i = 0; i < turnsPerRound; i++) measured[n].push(await turn(n));
    if (pid) cpuPerTurnMs[n].push((cpuNs(pid) - cpu0) / 1e6 / turnsPerRound);
  }
  console.error(`round ${r + 1}/${rounds}: ${names.map((n) => `${n} added p50 ${median(measured[n].map((t) => t.addedMs)).toFixed(2)} ms`).join(", ")}`);
}
signalTree(upstream.proc.pid, "SIGCONT");
signalTree(ours.proc.pid, "SIGCONT");
await Bun.sleep(2000);
const after = { upstream: memoryOf(upstream.proc.pid), ours: memoryOf(ours.proc.pid) };

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const r3 = (x: number) => Number(x.toFixed(3));
const summary = (ts: Turn[], cpu: number[]) => ({
  turns: ts.length,
  gatewayCpuPerTurnMs: cpu.length ? r3(median(cpu)) : null,
  wallP50ms: r3(median(ts.map((t) => t.wallMs))),
  wallP90ms: r3(pct(ts.map((t) => t.wallMs), 90)),
  providerP50ms: r3(median(ts.map((t) => t.providerMs))),
  addedP50ms: r3(median(ts.map((t) => t.addedMs))),
  addedP90ms: r3(pct(ts.map((t) => t.addedMs), 90)),
  modelCallsPerTurn: r3(median(ts.map((t) => t.modelCalls))),
  requestBytesToModelP50: Math.round(median(ts.map((t) => t.requestBytes))),
  promptTokensP50: Math.round(median(ts.map((t) => t.promptTokens))),
  lastModelRequest: ts.at(-1)?.shape ?? null,
});
const sums = Object.fromEntries(names.map((n) => [n, summary(measured[n], cpuPerTurnMs[n])])) as Record<Name, ReturnType<typeof summary>>;
const ratio = (a: number, b: number) => (b > 0 ? Number((a / b).toFixed(1)) : null);
const memRatio = (u: Memory, o: Memory) => ({ rss: ratio(u.rssMB, o.rssMB), treePss: ratio(u.treePssMB, o.treePssMB) });
const upstreamVersion = JSON.parse(fs.readFileSync(path.join(upstreamDir, "node_modules", "openclaw", "package.json"), "utf8")).version as string;
const nodeVersion = Bun.spawnSync([path.join(upstreamDir, "node_modules", "node", "bin", "node"), "--version"]).stdout.toString().trim();

const result = {
  benchmark: "agent-turn",
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, bun: Bun.version, upstreamNode: nodeVersion, loadAverageAtStart: loadAtStart.map(r3), loadAverageAtEnd: os.loadavg().map(r3) },
  upstream: { package: `openclaw@${upstreamVersion}`, readyAfterMs: Math.round(upstreamReadyMs) },
  ours: { binary: "dist/openclaw (compiled)", readyAfterMs: Math.round(oursReadyMs), agentSurface: oursAgentMissing ? "missing" : "present" },
  method:
    `POST /v1/chat/completions, model "openclaw/main" (ours also a plain "gpt-4o-mini" call), one user message, not streamed, no session header; ` +
    `the fake provider (its own process) behind a timing proxy; added = turn wall time − the union of the turn's model-call intervals at the proxy. ` +
    `${warmup} warm-up turns each, then ${rounds} rounds × ${turnsPerRound} turns per target, each target alone (others SIGSTOPped) after one unmeasured turn; ` +
    `p50 = median, p90 = nearest rank. Gateway CPU per turn: schedstat run time of the gateway's process tree over each round's measured turns ÷ turns, median of rounds. Memory: /proc VmRSS of the gateway process and summed PSS of its process tree, idle ${settleS} s after ready and 2 s after the turns.`,
  command: `nice -n 10 bun bench/agent-turn.ts ${process.argv.slice(2).join(" ")}`.trim(),
  turns: sums,
  memory: { idle, afterTurns: after },
  ratios: {
    addedP50: oursAgentMissing ? null : ratio(sums.upstreamAgent.addedP50ms, sums.oursAgent!.addedP50ms),
    addedP90: oursAgentMissing ? null : ratio(sums.upstreamAgent.addedP90ms, sums.oursAgent!.addedP90ms),
    gatewayCpuPerTurn: oursAgentMissing ? null : ratio(sums.upstreamAgent.gatewayCpuPerTurnMs ?? 0, sums.oursAgent!.gatewayCpuPerTurnMs ?? 0),
    upstreamAgentAddedOverOurModelCallAddedP50: ratio(sums.upstreamAgent.addedP50ms, sums.oursModel.addedP50ms),
    upstreamAgentCpuOverOurModelCallCpu: ratio(sums.upstreamAgent.gatewayCpuPerTurnMs ?? 0, sums.oursModel.gatewayCpuPerTurnMs ?? 0),
    memoryIdle: memRatio(idle.upstream, idle.ours),
    memoryAfterTurns: memRatio(after.upstream, after.ours),
  },
  goals: { addedTimeRatioAtLeast: 50, memoryRatioAtLeast: 5 },
  oursAgentMissing,
  gatewayCpuPerTurnMsByRound: Object.fromEntries(names.filter((n) => cpuPerTurnMs[n].length).map((n) => [n, cpuPerTurnMs[n].map(r3)])),
  perTurnAddedMs: Object.fromEntries(names.map((n) => [n, measured[n].map((t) => r3(t.addedMs))])),
};
console.log(JSON.stringify(result, null, 2));
saveResult(oursAgentMissing ? "agent-turn-upstream-only" : "agent-turn", result);
proxy.stop();
cleanup();
// The gateways' state (upstream's is ~70 MB after a run) goes with them.
for (const dir of [upstream.home, ours.home]) fs.rmSync(dir, { recursive: true, force: true });
