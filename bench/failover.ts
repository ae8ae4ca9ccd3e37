// Failover benchmark (issue 15 §9): how long a request takes to fail over to a model's second
// deployment after its first refuses the connection, beyond the retry policy's wait. One compiled
// gateway (governance on, as in routing.ts) serves, against the same fake provider:
//   direct     model → the fake provider (the baseline);
//   failover   deployment 1 refuses the connection (a closed port), deployment 2 is the fake provider;
//   retried    the same with routing retries 2 at backoffMs 0: three refused attempts, then deployment 2
//              (the policy's wait is 0, so everything measured beyond direct is the gateway's own cost).
// Requests go one at a time (concurrency 1) from a separate client process, the three models
// interleaved request by request; medians of p50/p99 over the runs; the added failover time is
// (failover − direct) and (retried − direct). Target: ≤ 5 ms.
//
//   bun bench/failover.ts --runs 5 --requests 400
import net from "node:net";
import { arg, ensureBinary, median, saveResult, startGovernedGateway, startJsonPrinter } from "./lib.ts";

const MODELS = ["direct", "failover", "retried"] as const;

if (process.argv[2] === "--client") {
  const [url, token, n] = [process.argv[3]!, process.argv[4]!, Number(process.argv[5])];
  const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
  const times: Record<string, number[]> = Object.fromEntries(MODELS.map((m) => [m, []]));
  const once = async (model: string) => {
    const t = performance.now();
    const r = await fetch(url, { method: "POST", headers, body: JSON.stringify({ model, messages: [{ role: "user", content: "hello" }] }) });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`${model}: HTTP ${r.status}`);
    return performance.now() - t;
  };
  for (let i = 0; i < 50; i++) for (const m of MODELS) await once(m); // warm-up
  for (let i = 0; i < n; i++) for (const m of MODELS) times[m]!.push(await once(m));
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
  console.log(JSON.stringify(Object.fromEntries(MODELS.map((m) => [m, { p50: q(times[m]!, 0.5), p99: q(times[m]!, 0.99) }]))));
  process.exit(0);
}

/** A port nothing listens on (bound, then closed): connections to it are refused. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const runs = arg("--runs", 5);
const requests = arg("--requests", 400);
const bin = ensureBinary();
const fake = await startJsonPrinter(["bun", "tests/fake-provider/main.ts"]);
const dead = await closedPort();
const rate = { input: 0.15, output: 0.6 };
const gw = await startGovernedGateway(bin, fake.url, "oc-bench-failover-", {
  providers: { dead: { kind: "openai", baseUrl: `http://127.0.0.1:${dead}/v1`, apiKey: "sk-dead" } },
  models: {
    direct: { provider: "fake", upstreamModel: "fake-mini" },
    failover: { provider: "dead", upstreamModel: "x", fallbacks: [{ provider: "fake", upstreamModel: "fake-mini" }] },
    retried: { provider: "dead", upstreamModel: "x", fallbacks: [{ provider: "fake", upstreamModel: "fake-mini" }] },
  },
  billing: { rateCard: { direct: rate, failover: rate, retried: rate } },
  // The breaker would skip the dead deployment after 5 failures; this measures the failover itself.
  routing: { retries: 0, breaker: { failures: 1000, cooldownSeconds: 1 } },
});
// `retried` needs retries 2: a second gateway config is not needed — models share routing, so run the
// retried case on its own gateway with the same settings but retries 2.
const gwRetry = await startGovernedGateway(bin, fake.url, "oc-bench-failover-r-", {
  providers: { dead: { kind: "openai", baseUrl: `http://127.0.0.1:${dead}/v1`, apiKey: "sk-dead" } },
  models: {
    direct: { provider: "fake", upstreamModel: "fake-mini" },
    failover: { provider: "dead", upstreamModel: "x", fallbacks: [{ provider: "fake", upstreamModel: "fake-mini" }] },
    retried: { provider: "dead", upstreamModel: "x", fallbacks: [{ provider: "fake", upstreamModel: "fake-mini" }] },
  },
  billing: { rateCard: { direct: rate, failover: rate, retried: rate } },
  routing: { retries: 2, backoffMs: 0, breaker: { failures: 1000, cooldownSeconds: 1 } },
});

type Run = Record<(typeof MODELS)[number], { p50: number; p99: number }>;
const client = (g: { url: string; token: string }) => {
  const r = Bun.spawnSync(["bun", import.meta.path, "--client", `${g.url}/v1/chat/completions`, g.token, String(requests)], { stdout: "pipe", stderr: "inherit" });
  if (r.exitCode !== 0) throw new Error("client failed");
  return JSON.parse(r.stdout.toString()) as Run;
};
const plain: Run[] = [];
const retry: Run[] = [];
try {
  for (let i = 0; i < runs; i++) {
    // Alternate the two gateways run by run.
    plain.push(client(gw));
    retry.push(client(gwRetry));
    console.error(`run ${i + 1}/${runs}: failover +${(plain.at(-1)!.failover.p50 - plain.at(-1)!.direct.p50).toFixed(3)} ms, 3 refused + failover +${(retry.at(-1)!.retried.p50 - retry.at(-1)!.direct.p50).toFixed(3)} ms (p50)`);
  }
} finally {
  gw.proc.kill();
  gwRetry.proc.kill();
  fake.proc.kill();
}
const med = (rs: Run[], m: keyof Run, p: "p50" | "p99") => median(rs.map((r) => r[m][p]));
const round = (x: number) => Math.round(x * 1000) / 1000;
const result = {
  command: `bun bench/failover.ts --runs ${runs} --requests ${requests}`,
  date: new Date().toISOString(),
  requestsPerModelPerRun: requests,
  runs,
  retriesZero: {
    directMs: { p50: round(med(plain, "direct", "p50")), p99: round(med(plain, "direct", "p99")) },
    failoverMs: { p50: round(med(plain, "failover", "p50")), p99: round(med(plain, "failover", "p99")) },
    addedMs: { p50: round(med(plain, "failover", "p50") - med(plain, "direct", "p50")), p99: round(med(plain, "failover", "p99") - med(plain, "direct", "p99")) },
  },
  retriesTwoBackoffZero: {
    directMs: { p50: round(med(retry, "direct", "p50")), p99: round(med(retry, "direct", "p99")) },
    retriedMs: { p50: round(med(retry, "retried", "p50")), p99: round(med(retry, "retried", "p99")) },
    addedMs: { p50: round(med(retry, "retried", "p50") - med(retry, "direct", "p50")), p99: round(med(retry, "retried", "p99") - med(retry, "direct", "p99")) },
  },
  targetMs: 5,
};
saveResult("failover", result);
console.log(JSON.stringify(result, null, 2));
