// Channels (issue 17 §7): the gateway in this process; the fake provider (the model) and the callback
// receiver (the platform the answers go to) both in this process beside it (--placement in-process,
// the default and the method of every recorded run), or each in a process of its own (--placement
// split: measured slower on 2 cores, bench/README.md).
//   latency:    a signed generic-webhook delivery, c=1, through the gateway — the time from the client
//               sending it to the agent run being started (runs.send called: "ingest → dispatch"),
//               and the client's round trip to the acknowledgement — beside a bare Bun.serve that reads
//               the body and answers 200 (the baseline), alternating, per run. Gateway-added =
//               ours − baseline round trip at p50/p99; medians over runs.
//   throughput: 100 tenants with one webhook channel each, deliveries at --rate per second for
//               --seconds, every answer POSTed to a local callback receiver; counts what was sent,
//               answered, lost and duplicated.
// Usage: nice -n 15 bun bench/channels.ts [--runs 3] [--messages 400] [--tenants 100] [--rate 500] [--seconds 10] [--placement split|in-process]
import fs from "node:fs";
import path from "node:path";
import { readEnvironment } from "../src/config/env.ts";
import { createCore } from "../src/app/core.ts";
import { silentLogger } from "../src/core/logger.ts";
import { mintTenantScope } from "../src/edge/tenant-scope.ts";
import { startGateway } from "../src/http/gateway.ts";
import { signPayload } from "../src/modules/channels/kinds/webhook.ts";
import { startFakeProvider } from "../tests/fake-provider/fake-provider.ts";
import { arg, median, saveResult, startJsonPrinter, tmpdir } from "./lib.ts";

// --receiver: the callback receiver in a process of its own: counts each answer by chat and the
// delivery it answers; GET /counts gives them, POST /clear forgets them.
if (process.argv.includes("--receiver")) {
  const counts = new Map<string, number>();
  const srv = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const u = new URL(req.url);
      if (req.method === "GET" && u.pathname === "/counts") return Response.json(Object.fromEntries(counts));
      if (req.method === "POST" && u.pathname === "/clear") return (counts.clear(), new Response("ok"));
      const body = JSON.parse(await req.text()) as { inReplyTo: string; to: { chat: string } };
      const k = `${body.to.chat}|${body.inReplyTo}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
      return new Response("ok");
    },
  });
  console.log(JSON.stringify({ url: `http://127.0.0.1:${srv.port}` }));
  await new Promise(() => {});
}

// --sender <file>: the load generator, in a process of its own (so that the gateway's event loop is
// not also the client's): posts the deliveries the file describes at its rate, prints what it saw.
const senderFile = process.argv.includes("--sender") ? process.argv[process.argv.indexOf("--sender") + 1]! : null;
if (senderFile) {
  const plan = JSON.parse(fs.readFileSync(senderFile, "utf8")) as { url: string; rate: number; deliveries: { path: string; init: RequestInit }[] };
  const start = performance.now();
  const inflight = new Set<Promise<void>>();
  let refused = 0;
  for (let i = 0; i < plan.deliveries.length; i++) {
    const due = start + (i * 1000) / plan.rate;
    const wait = due - performance.now();
    if (wait > 1) await Bun.sleep(wait);
    const d = plan.deliveries[i]!;
    const p: Promise<void> = fetch(`${plan.url}${d.path}`, d.init)
      .then(async (res) => {
        await res.arrayBuffer();
        if (res.status !== 200) refused++;
      })
      .catch(() => void refused++)
      .finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
  console.log(JSON.stringify({ sent: plan.deliveries.length, refused, seconds: (performance.now() - start) / 1000 }));
  process.exit(0);
}

const runs = arg("--runs", 3);
const messages = arg("--messages", 400);
const tenants = arg("--tenants", 100);
const rate = arg("--rate", 500);
const seconds = arg("--seconds", 10);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const r2 = (x: number) => Math.round(x * 100) / 100;

const pi = process.argv.indexOf("--placement");
const placement = pi >= 0 ? process.argv[pi + 1] : "in-process";
if (placement !== "split" && placement !== "in-process") throw new Error(`--placement must be split or in-process, not ${placement}`);
const children: ReturnType<typeof Bun.spawn>[] = [];
process.on("exit", () => children.forEach((c) => c.kill()));
/** The model and the platform: their URLs, the receiver's counts, and how to stop them. */
const outside = await (async () => {
  if (placement === "split") {
    const f = await startJsonPrinter(["bun", "tests/fake-provider/main.ts", "0"]);
    const r = await startJsonPrinter([process.execPath, import.meta.path, "--receiver"]);
    children.push(f.proc, r.proc);
    return {
      fakeUrl: f.url,
      receiverUrl: r.url,
      counts: async () => new Map(Object.entries((await (await fetch(`${r.url}/counts`)).json()) as Record<string, number>)),
      clear: async () => void (await fetch(`${r.url}/clear`, { method: "POST" })),
      stop: () => children.forEach((c) => c.kill()),
    };
  }
  const fake = startFakeProvider({ record: false });
  const counts = new Map<string, number>();
  const receiver = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const body = JSON.parse(await req.text()) as { inReplyTo: string; to: { chat: string } };
      const k = `${body.to.chat}|${body.inReplyTo}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
      return new Response("ok");
    },
  });
  return {
    fakeUrl: fake.url,
    receiverUrl: `http://127.0.0.1:${receiver.port}`,
    counts: async () => new Map(counts),
    clear: async () => counts.clear(),
    stop: () => (fake.stop(), receiver.stop(true)),
  };
})();
const baseline = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: async (req) => (await req.arrayBuffer(), new Response('{"accepted":1}', { headers: { "content-type": "application/json" } })) });

const home = tmpdir("bench-channels-");
fs.writeFileSync(
  path.join(home, "openclaw.json"),
  JSON.stringify({
    gateway: {
      port: 0,
      accessLog: false,
      // Each tenant's 64 senders start 64 sessions at once (audited changes, from the tenant's change bucket).
      limits: { tenantChangesBurst: 1000 },
      channels: { secretKey: "bench-channels-secret-key-0123456789", kinds: { webhook: { callbackAllow: ["127.0.0.1:*"] } }, perChannelPerMinute: 100_000, perPeerPerMinute: 100_000, maxQueuedPerChannel: 10_000 },
    },
    sandbox: { egress: { allowPrivate: ["127.0.0.1"] } },
    providers: { local: { kind: "openai", baseUrl: `${outside.fakeUrl}/v1`, apiKey: "sk-bench", timeoutMs: 30_000 } },
    models: { m: { provider: "local", upstreamModel: "up" } },
    billing: { rateCard: { m: { input: 1, output: 2, cacheRead: 0.5, cacheWrite: 1.25 } } },
    quotas: { defaults: { tokensPerDay: 1e12, costPerDayUsd: 1e9, requestsPerMinute: 1e9, maxConcurrent: 1000 } },
  }),
);
const core = createCore({ home, env: readEnvironment({ PATH: process.env.PATH }), log: silentLogger() });
const op = { actor: { kind: "operator" as const, id: "bench" }, requestId: "bench" };
const gw = startGateway(core);

// When each delivery's agent run was started (runs.send is the dispatch).
const dispatchedAt = new Map<string, number>();
const send = core.runs.send.bind(core.runs);
core.runs.send = ((identity, p, ctx) => {
  if (p.idempotencyKey) dispatchedAt.set(p.idempotencyKey.split(":").at(-1)!, performance.now());
  return send(identity, p, ctx);
}) as typeof core.runs.send;

// When the module's webhook handler was entered (c=1: one at a time), for the server-side ingest → dispatch time.
let enteredAt = 0;
const handle = core.channelsEngine.ingest.handle;
core.channelsEngine.ingest.handle = (...a) => {
  enteredAt = performance.now();
  return handle(...a);
};

const channels: { tenant: string; path: string; key: string }[] = [];
for (let i = 0; i < tenants; i++) {
  const id = `t${String(i).padStart(3, "0")}`;
  core.tenants.create({ id }, op);
  const r = await core.channels.pair(mintTenantScope(id), { kind: "webhook", credentials: {}, options: { dmPolicy: "open", callbackUrl: `${outside.receiverUrl}/cb` } }, op);
  channels.push({ tenant: id, path: r.webhookPath, key: r.signingKey! });
}

let seq = 0;
function delivery(ch: { path: string; key: string }, base: string) {
  const id = `d${++seq}`;
  const body = JSON.stringify({ id, from: `peer${seq % 64}`, text: `bench message ${seq}` });
  const ts = String(Math.floor(Date.now() / 1000));
  return { id, url: `${base}${ch.path}`, init: { method: "POST", headers: { "content-type": "application/json", "x-openclawmu-timestamp": ts, "x-openclawmu-signature": signPayload(ch.key, ts, body) }, body } };
}

async function idle() {
  await Bun.sleep(20);
  await core.channelsEngine.dispatcher.idle();
}

// --- latency ---
const latency: Record<string, number>[] = [];
for (let r = 0; r < runs; r++) {
  const base: number[] = [];
  const ack: number[] = [];
  const toDispatch: number[] = [];
  const serverSide: number[] = [];
  for (let i = 0; i < messages; i++) {
    const ch = channels[i % channels.length]!;
    // Alternate: baseline, then ours, each c=1.
    const b = delivery(ch, `http://127.0.0.1:${baseline.port}`);
    let t0 = performance.now();
    await (await fetch(b.url, b.init)).arrayBuffer();
    base.push(performance.now() - t0);
    const d = delivery(ch, gw.url);
    t0 = performance.now();
    const res = await fetch(d.url, d.init);
    await res.arrayBuffer();
    ack.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`delivery refused: ${res.status}`);
    const at = dispatchedAt.get(d.id);
    if (at === undefined) throw new Error(`delivery ${d.id} was not dispatched by the time it was acknowledged`);
    toDispatch.push(at - t0);
    serverSide.push(at - enteredAt);
    if (i % 50 === 49) await idle();
  }
  await idle();
  latency.push({
    baselineP50: pct(base, 50), baselineP99: pct(base, 99),
    ackP50: pct(ack, 50), ackP99: pct(ack, 99),
    dispatchP50: pct(toDispatch, 50), dispatchP99: pct(toDispatch, 99),
    serverIngestToDispatchP50: pct(serverSide, 50), serverIngestToDispatchP99: pct(serverSide, 99),
    addedP50: pct(ack, 50) - pct(base, 50), addedP99: pct(ack, 99) - pct(base, 99),
  });
}
const med = (k: string) => r2(median(latency.map((l) => l[k]!)));
const latencySummary = Object.fromEntries(Object.keys(latency[0]!).map((k) => [k, med(k)]));
console.log(JSON.stringify({ latency: latencySummary }));

// --- throughput ---
await outside.clear();
const total = rate * seconds;
const sentIds: string[] = [];
const deliveries = Array.from({ length: total }, (_, i) => {
  const d = delivery(channels[i % channels.length]!, "");
  sentIds.push(d.id);
  return { path: d.url, init: d.init };
});
const planFile = path.join(home, "plan.json");
fs.writeFileSync(planFile, JSON.stringify({ url: gw.url, rate, deliveries }));
const start = performance.now();
const sender = Bun.spawn([process.execPath, import.meta.path, "--sender", planFile], { stdout: "pipe", stderr: "inherit" });
const senderOut = JSON.parse((await new Response(sender.stdout).text()).trim().split("\n").at(-1)!) as { sent: number; refused: number; seconds: number };
await sender.exited;
const refused = senderOut.refused;
const sendSeconds = senderOut.seconds;
const drainStart = performance.now();
const deadline = Date.now() + 300_000;
let callbacks = await outside.counts();
while ([...callbacks.values()].reduce((a, b) => a + b, 0) < total && Date.now() < deadline) {
  await Bun.sleep(50);
  callbacks = await outside.counts();
}
await idle();
callbacks = await outside.counts();
const drainSeconds = (performance.now() - drainStart) / 1000;
void start;
const answered = new Set([...callbacks.keys()].map((k) => k.split("|")[1]));
const lost = sentIds.filter((id) => !answered.has(id)).length;
const duplicated = [...callbacks.values()].filter((n) => n > 1).length;
const throughput = { tenants, rate, seconds, sent: total, refused, achievedSendRate: r2(total / sendSeconds), answered: answered.size, lost, duplicated, drainSeconds: r2(drainSeconds), answeredRate: r2(answered.size / (sendSeconds + drainSeconds)) };
console.log(JSON.stringify({ throughput }));
saveResult("channels", { placement, runs, messages, latencyRuns: latency, latency: latencySummary, throughput });

await gw.stop();
core.close();
outside.stop();
baseline.stop(true);
process.exit(0);
