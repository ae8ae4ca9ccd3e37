// Gateway-added time per agent step, and transcript append latency, in process.
//   direct: the same two streamed model calls straight to the fake provider (a tool call, then the answer),
//           with the tool's work (a 2 KB workspace file read through the files service) in between;
//   loop:   one agent turn (chat.send's run) doing exactly that through the agent loop — context,
//           the chat service's admission, quotas and ledger, the tool call, the transcript, events.
// Added time per step = (loop − direct) / 2, per turn; medians of per-run p50s. Then the p50/p99 of
// one transcript append (a ~300-byte entry, write(2) without fsync; fsync happens at run end).
// Usage: bun bench/agent-step.ts [--runs 5] [--turns 200] [--appends 5000]
import fs from "node:fs";
import path from "node:path";
import { readEnvironment } from "../src/config/env.ts";
import { createCore } from "../src/app/core.ts";
import { silentLogger } from "../src/core/logger.ts";
import { mintTenantScope } from "../src/edge/tenant-scope.ts";
import type { AgentTool } from "../src/modules/agents/tools/tool.ts";
import { parseSse } from "../src/lib/sse.ts";
import { startFakeProvider } from "../tests/fake-provider/fake-provider.ts";
import { arg, median, saveResult, tmpdir } from "./lib.ts";

const runs = arg("--runs", 5);
const turns = arg("--turns", 200);
const appends = arg("--appends", 5000);

const fake = startFakeProvider({ record: false });
const home = tmpdir("bench-agent-");
fs.writeFileSync(
  path.join(home, "openclaw.json"),
  JSON.stringify({
    providers: { local: { kind: "openai", baseUrl: `${fake.url}/v1`, apiKey: "sk-bench", timeoutMs: 30_000 } },
    models: { m: { provider: "local", upstreamModel: "up" } },
    billing: { rateCard: { m: { input: 1, output: 2, cacheRead: 0.5, cacheWrite: 1.25 } } },
    quotas: { defaults: { tokensPerDay: 1e12, costPerDayUsd: 1e9, requestsPerMinute: 1e9, maxConcurrent: 1000 } },
    agents: { tools: ["bench_read"] },
  }),
);
const core = createCore({ home, env: readEnvironment({ PATH: process.env.PATH }), log: silentLogger() });
const op = { actor: { kind: "operator" as const, id: "bench" }, requestId: "bench" };
core.tenants.create({ id: "acme" }, op);
const tenant = mintTenantScope("acme");
core.files.write(tenant, "notes.txt", Buffer.from("n".repeat(2048)));
const benchRead: AgentTool = {
  name: "bench_read",
  description: "Reads a workspace file.",
  parameters: { type: "object", properties: { path: { type: "string" } } },
  run: async (args, ctx) => {
    const r = ctx.services.files.read(ctx.tenant, String(args.path));
    return { content: Buffer.from(r.bytes).toString("utf8"), isError: false, truncated: r.truncated };
  },
};
core.agentTools.add(benchRead);
const steps = () => [{ toolCalls: [{ id: "call_1", name: "bench_read", arguments: { path: "notes.txt" } }], usage: { input: 40, output: 12 } }, { text: "the file holds n's", usage: { input: 60, output: 5 } }];

async function directTurn(i: number): Promise<number> {
  fake.script(steps());
  const t0 = performance.now();
  // Streamed, as the loop calls the model: text and tool calls assembled from the chunks.
  const post = async (body: unknown) => {
    const res = await fetch(`${fake.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer sk-bench" }, body: JSON.stringify(body) });
    const msg: any = { role: "assistant", content: "", tool_calls: [] as any[] };
    for await (const ev of parseSse(res.body!)) {
      if (ev.data === "[DONE]") break;
      const d = JSON.parse(ev.data).choices?.[0]?.delta ?? {};
      if (d.content) msg.content += d.content;
      for (const tc of d.tool_calls ?? []) {
        const slot = (msg.tool_calls[tc.index] ??= { id: "", type: "function", function: { name: "", arguments: "" } });
        if (tc.id) slot.id = tc.id;
        if (tc.function?.name) slot.function.name += tc.function.name;
        if (tc.function?.arguments) slot.function.arguments += tc.function.arguments;
      }
    }
    return msg;
  };
  const messages: any[] = [{ role: "user", content: `read notes ${i}` }];
  const first = await post({ model: "up", messages, max_tokens: 4096, stream: true, stream_options: { include_usage: true } });
  const call = first.tool_calls[0];
  const content = Buffer.from(core.files.read(tenant, JSON.parse(call.function.arguments).path).bytes).toString("utf8");
  messages.push(first, { role: "tool", tool_call_id: call.id, content });
  await post({ model: "up", messages, max_tokens: 4096, stream: true, stream_options: { include_usage: true } });
  return performance.now() - t0;
}

async function loopTurn(i: number): Promise<number> {
  fake.script(steps());
  const t0 = performance.now();
  const { done } = core.runs.send(tenant, { sessionKey: `bench-${i % 50}`, message: `read notes ${i}` }, op);
  const end = await done!;
  if (end.status !== "ok") throw new Error(`run failed: ${JSON.stringify(end.error)}`);
  return performance.now() - t0;
}

const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const perRun: { directP50: number; loopP50: number; addedPerStepP50: number }[] = [];
for (let w = 0; w < 30; w++) {
  await directTurn(w);
  await loopTurn(w);
}
for (let r = 0; r < runs; r++) {
  const direct: number[] = [];
  const loop: number[] = [];
  for (let i = 0; i < turns; i++) {
    // Alternate, so both see the same machine.
    direct.push(await directTurn(i));
    loop.push(await loopTurn(i));
  }
  for (const s of core.sessions.list(tenant, { limit: 500 }).sessions) core.sessions.reset(tenant, s.key, op);
  const added = loop.map((l, i) => (l - direct[i]!) / 2);
  perRun.push({ directP50: p(direct, 0.5), loopP50: p(loop, 0.5), addedPerStepP50: p(added, 0.5) });
  console.log(`run ${r + 1}: direct p50 ${p(direct, 0.5).toFixed(3)} ms, loop p50 ${p(loop, 0.5).toFixed(3)} ms, added per step p50 ${p(added, 0.5).toFixed(3)} ms`);
}

// Transcript appends: one session, a typical tool_result entry.
const row = core.sessions.ensure(tenant, "append-bench", "main", op);
const appendTimes: number[] = [];
const content = "x".repeat(200);
for (let i = 0; i < appends; i++) {
  const t0 = performance.now();
  core.sessions.append(tenant, row, { type: "tool_result", ts: Date.now(), runId: "run_bench", toolCallId: "call_1", name: "file_read", content, isError: false, truncated: false });
  appendTimes.push(performance.now() - t0);
}
const result = {
  turns,
  runs: perRun,
  directP50Ms: median(perRun.map((x) => x.directP50)),
  loopP50Ms: median(perRun.map((x) => x.loopP50)),
  addedPerStepP50Ms: median(perRun.map((x) => x.addedPerStepP50)),
  append: { n: appends, p50Ms: p(appendTimes, 0.5), p99Ms: p(appendTimes, 0.99), durability: "write(2) per entry, no fsync; fsync at run end" },
};
console.log(JSON.stringify(result, null, 2));
saveResult("agent-step", result);
core.close();
fake.stop();
