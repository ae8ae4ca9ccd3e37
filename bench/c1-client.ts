// Added latency at concurrency 1 measured with a minimal client instead of wrk: one Bun process sends
// a request, reads the whole response, records the time, and sends the next — to the fake provider
// directly and through the compiled gateway (governance on, as in routing.ts), alternating, after a
// warm-up. Medians over the runs of each percentile.
//
//   bun bench/c1-client.ts --runs 5 --seconds 5
//
// Internally re-runs itself as the client (`--client URL TOKEN SECONDS`), so the client never shares
// an event loop with what it measures.
import { arg, c1ClientLoop, ensureBinary, median, saveResult, startGovernedGateway, startJsonPrinter } from "./lib.ts";

const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }] });

if (process.argv[2] === "--client") {
  await c1ClientLoop(process.argv[3]!, process.argv[4]!, Number(process.argv[5]), body);
  process.exit(0);
}

const RUNS = arg("--runs", 5);
const SECONDS = arg("--seconds", 5);
const bin = ensureBinary();
const fake = await startJsonPrinter(["bun", "tests/fake-provider/main.ts", "0"]);
const gateway = await startGovernedGateway(bin, fake.url, "bench-c1-");
const { token } = gateway;

async function client(base: string, secs: number): Promise<{ n: number; p50: number; p90: number; p99: number }> {
  const p = Bun.spawn(["bun", import.meta.path, "--client", `${base}/v1/chat/completions`, token, String(secs)], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`client against ${base} failed`);
  return JSON.parse(out) as { n: number; p50: number; p90: number; p99: number };
}

try {
  await client(gateway.url, 3);
  await client(fake.url, 1);
  const runs = { direct: [] as { p50: number; p99: number }[], gateway: [] as { p50: number; p99: number }[] };
  for (let i = 0; i < RUNS; i++) {
    const d = await client(fake.url, SECONDS);
    const g = await client(gateway.url, SECONDS);
    runs.direct.push(d);
    runs.gateway.push(g);
    console.log(`run ${i + 1}: direct p50 ${d.p50.toFixed(3)} p99 ${d.p99.toFixed(3)} ms · gateway p50 ${g.p50.toFixed(3)} p99 ${g.p99.toFixed(3)} ms`);
  }
  const m = (xs: { p50: number; p99: number }[], k: "p50" | "p99") => +median(xs.map((x) => x[k])).toFixed(3);
  const result = {
    date: new Date().toISOString(),
    command: `bun bench/c1-client.ts --runs ${RUNS} --seconds ${SECONDS}`,
    direct: { p50ms: m(runs.direct, "p50"), p99ms: m(runs.direct, "p99") },
    gateway: { p50ms: m(runs.gateway, "p50"), p99ms: m(runs.gateway, "p99") },
    addedP50ms: +(m(runs.gateway, "p50") - m(runs.direct, "p50")).toFixed(3),
    addedP99ms: +(m(runs.gateway, "p99") - m(runs.direct, "p99")).toFixed(3),
    runs,
  };
  console.log(result);
  saveResult("c1-client", result);
} finally {
  gateway.proc.kill();
  fake.proc.kill();
}
