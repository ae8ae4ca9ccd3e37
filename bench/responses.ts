// /v1/responses added latency at concurrency 1, side by side with chat completions: one Bun client
// sends a request, reads the whole answer, sends the next — to the fake provider directly and through
// the compiled gateway (governance on, as in routing.ts), every target in turn within each run, after
// a warm-up. Targets:
//   chat.direct        fake /v1/chat/completions                 (the baseline of chat and translation)
//   chat.gateway       gateway /v1/chat/completions
//   responses.gateway  gateway /v1/responses, translated to chat, stored (the default)
//   responses.nostore  the same with store: false
//   responses.stream   the same streamed (SSE, the whole stream read)   vs chat.stream: chat streamed
//   native.direct      fake /v1/responses                        (the baseline of passthrough)
//   native.gateway     gateway /v1/responses to a provider with responses: true (passed through, stored)
// Medians over the runs of each percentile; added = gateway − its direct baseline.
//
//   bun bench/responses.ts --runs 5 --seconds 4
import { arg, c1ClientLoop, ensureBinary, median, saveResult, startGovernedGateway, startJsonPrinter } from "./lib.ts";

type Stats = { n: number; p50: number; p90: number; p99: number };

if (process.argv[2] === "--client") {
  await c1ClientLoop(process.argv[3]!, process.argv[4]!, Number(process.argv[5]), process.argv[6]!);
  process.exit(0);
}

const RUNS = arg("--runs", 5);
const SECONDS = arg("--seconds", 4);
const bin = ensureBinary();
const fake = await startJsonPrinter(["bun", "tests/fake-provider/main.ts", "0"]);
const gateway = await startGovernedGateway(bin, fake.url, "bench-responses-", {
  providers: { native: { kind: "openai", baseUrl: `${fake.url}/v1`, apiKey: "sk-fake", responses: true } },
  models: { "gpt-native": { provider: "native", upstreamModel: "fake-native" } },
  billing: { rateCard: { "gpt-native": { input: 0.15, output: 0.6 } } },
  // Every request of the run is stored: room for all of them.
  responses: { maxStoredPerTenant: 10_000_000, maxStoredBytesPerTenant: 64 * 1024 * 1024 * 1024 },
});
const { token } = gateway;

const chat = { model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }] };
const resp = { model: "gpt-4o-mini", input: "hello" };
const TARGETS: Record<string, { base: string; path: string; body: unknown }> = {
  "chat.direct": { base: fake.url, path: "/v1/chat/completions", body: { ...chat, model: "fake-mini" } },
  "chat.gateway": { base: gateway.url, path: "/v1/chat/completions", body: chat },
  "responses.gateway": { base: gateway.url, path: "/v1/responses", body: resp },
  "responses.nostore": { base: gateway.url, path: "/v1/responses", body: { ...resp, store: false } },
  "chat.stream": { base: gateway.url, path: "/v1/chat/completions", body: { ...chat, stream: true } },
  "responses.stream": { base: gateway.url, path: "/v1/responses", body: { ...resp, stream: true } },
  "native.direct": { base: fake.url, path: "/v1/responses", body: { model: "fake-native", input: "hello" } },
  "native.gateway": { base: gateway.url, path: "/v1/responses", body: { model: "gpt-native", input: "hello" } },
};

async function client(name: string, secs: number): Promise<Stats> {
  const t = TARGETS[name]!;
  const p = Bun.spawn(["bun", import.meta.path, "--client", `${t.base}${t.path}`, token, String(secs), JSON.stringify(t.body)], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`client ${name} failed`);
  return JSON.parse(out) as Stats;
}

try {
  for (const name of Object.keys(TARGETS)) await client(name, 1);
  const runs: Record<string, Stats[]> = Object.fromEntries(Object.keys(TARGETS).map((k) => [k, []]));
  for (let i = 0; i < RUNS; i++) {
    // Alternate the order between runs so no target always follows the same one.
    const order = i % 2 === 0 ? Object.keys(TARGETS) : Object.keys(TARGETS).reverse();
    for (const name of order) runs[name]!.push(await client(name, SECONDS));
    console.log(`run ${i + 1}: ${Object.keys(TARGETS).map((k) => `${k} p50 ${runs[k]!.at(-1)!.p50.toFixed(3)}`).join(" · ")}`);
  }
  const m = (k: string, p: "p50" | "p99") => +median(runs[k]!.map((x) => x[p])).toFixed(3);
  const summary = Object.fromEntries(Object.keys(TARGETS).map((k) => [k, { p50ms: m(k, "p50"), p99ms: m(k, "p99"), requestsPerRun: Math.round(median(runs[k]!.map((x) => x.n))) }]));
  const added = (k: string, base: string) => ({ p50ms: +(m(k, "p50") - m(base, "p50")).toFixed(3), p99ms: +(m(k, "p99") - m(base, "p99")).toFixed(3) });
  const result = {
    date: new Date().toISOString(),
    command: `bun bench/responses.ts --runs ${RUNS} --seconds ${SECONDS}`,
    summary,
    added: {
      chat: added("chat.gateway", "chat.direct"),
      responsesTranslated: added("responses.gateway", "chat.direct"),
      responsesNoStore: added("responses.nostore", "chat.direct"),
      responsesPassthrough: added("native.gateway", "native.direct"),
      streamResponsesOverChat: added("responses.stream", "chat.stream"),
    },
    runs,
  };
  console.log(JSON.stringify(result.added, null, 2));
  saveResult("responses", result);
} finally {
  gateway.proc.kill();
  fake.proc.kill();
}
