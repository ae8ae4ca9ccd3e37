// OpenTelemetry export (issue 15 §6): a routed call becomes a trace — a gateway span and a client span
// per upstream attempt — sent over OTLP/HTTP (JSON) by the official SDK to a receiver this test runs;
// prompts and completions appear only when telemetry.otlp.content is on.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildGatewayConfig } from "../../../src/config/load.ts";
import { readEnvironment } from "../../../src/config/env.ts";
import type { GatewayConfig } from "../../../src/config/schema.ts";
import { silentLogger } from "../../../src/core/logger.ts";
import { createProvidersService } from "../../../src/modules/providers/providers.service.ts";
import { createTelemetry } from "../../../src/modules/telemetry/telemetry.ts";
import { startFakeProvider, type FakeProvider } from "../../fake-provider/fake-provider.ts";
import { agentWorld } from "../agents/world.ts";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number; message?: string };
}

let fake: FakeProvider;
let receiver: ReturnType<typeof Bun.serve>;
const received: { headers: Record<string, string>; spans: OtlpSpan[]; service: string }[] = [];

beforeAll(() => {
  fake = startFakeProvider();
  receiver = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (new URL(req.url).pathname !== "/v1/traces") return new Response("not found", { status: 404 });
      const body = (await req.json()) as any;
      for (const rs of body.resourceSpans ?? []) {
        const service = rs.resource.attributes.find((x: any) => x.key === "service.name")?.value.stringValue;
        const spans = rs.scopeSpans.flatMap((s: any) => s.spans);
        received.push({ headers: Object.fromEntries(req.headers.entries()), spans, service });
      }
      return Response.json({});
    },
  });
});
afterAll(() => {
  fake.stop();
  receiver.stop(true);
});

const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes.find((x) => x.key === key)?.value;
  return v ? Object.values(v)[0] : undefined;
};

function world(content: boolean) {
  const config = buildGatewayConfig(
    {
      providers: { dead: { kind: "openai", baseUrl: "http://127.0.0.1:9/v1", apiKey: "k" }, a: { kind: "openai", baseUrl: `${fake.url}/v1`, apiKey: "k" } },
      models: { m: { provider: "dead", upstreamModel: "x", fallbacks: [{ provider: "a", upstreamModel: "fake-a" }], free: true } },
      telemetry: { otlp: { endpoint: `http://127.0.0.1:${receiver.port}/v1/traces`, headers: { authorization: "Bearer collector" }, serviceName: "gw-test", content } },
    },
    readEnvironment({ PATH: process.env.PATH }),
    "test",
  ) as GatewayConfig;
  const tracing = createTelemetry({ config: () => config, log: silentLogger(), version: "0.0.0-test" });
  const providers = createProvidersService({ config: () => config, log: silentLogger(), telemetry: tracing.telemetry });
  return { tracing, providers };
}

async function oneCall(content: boolean, secret: string) {
  received.length = 0;
  const w = world(content);
  const p = w.providers.forModel("m")!;
  await p.complete(p.prepare({ model: "m", messages: [{ role: "user", content: secret }], max_tokens: 20 }, false), { controller: new AbortController(), timeoutMs: 5000, model: "m" });
  await w.tracing.flush();
  await w.tracing.shutdown();
  return received.flatMap((r) => r.spans);
}

describe("OTLP/HTTP export", () => {
  test("a routed call exports a gateway span with one child span per attempt, with outcomes, and no content by default", async () => {
    const spans = await oneCall(false, "the secret prompt 42");
    expect(received[0]!.service).toBe("gw-test");
    expect(received[0]!.headers.authorization).toBe("Bearer collector");
    const root = spans.find((s) => s.name === "gateway chat m")!;
    expect(root).toBeDefined();
    expect(attr(root, "openclaw.deployment")).toBe("a/fake-a");
    expect(attr(root, "openclaw.outcome")).toBe("ok");
    const attempts = spans.filter((s) => s.parentSpanId === root.spanId);
    expect(attempts.map((s) => [s.name, attr(s, "openclaw.outcome")])).toEqual([
      ["chat dead/x", "error"],
      ["chat a/fake-a", "ok"],
    ]);
    expect(attempts.every((s) => s.traceId === root.traceId)).toBe(true);
    expect(attempts[0]!.status).toEqual({ code: 2, message: "error" }); // ERROR, saying only the outcome (a provider's message may quote the prompt)
    expect(JSON.stringify(spans)).not.toContain("secret prompt");
    expect(JSON.stringify(spans)).not.toContain("w0 w1");
  });

  test("with content opted in, the prompt and the completion are recorded", async () => {
    const spans = await oneCall(true, "the secret prompt 43");
    const root = spans.find((s) => s.name === "gateway chat m")!;
    expect(String(attr(root, "gen_ai.prompt"))).toContain("the secret prompt 43");
    expect(String(attr(root, "gen_ai.completion"))).toContain("w0 w1 w2");
  });

  test("without telemetry configured nothing is exported and no tracer is built", async () => {
    received.length = 0;
    const config = buildGatewayConfig({ providers: { a: { kind: "openai", baseUrl: `${fake.url}/v1` } }, models: { m: { provider: "a", upstreamModel: "u", free: true } } }, readEnvironment({ PATH: process.env.PATH }), "test") as GatewayConfig;
    const tracing = createTelemetry({ config: () => config, log: silentLogger(), version: "0" });
    expect(tracing.telemetry.route("m", false, "{}")).toBeUndefined();
    await tracing.flush();
    expect(received.length).toBe(0);
  });
});

describe("agent runs", () => {
  test("a turn is one trace: the run span holds each model call (with its attempts) and each tool step, without content", async () => {
    received.length = 0;
    const w = await agentWorld({ config: { telemetry: { otlp: { endpoint: `http://127.0.0.1:${receiver.port}/v1/traces`, serviceName: "gw-agents" } } } });
    try {
      w.fake.script([{ text: "Let me echo.", toolCalls: [{ id: "call_a", name: "echo_tool", arguments: { text: "private words" } }] }, { text: "done" }]);
      const run = await w.turn({ sessionKey: "traced", message: "please echo" });
      expect(run.status).toBe("ok");
      await w.core.tracing.flush();
    } finally {
      await w.close();
    }
    const spans = received.flatMap((r) => r.spans);
    const root = spans.find((s) => s.name === "agent run main")!;
    expect(root).toBeDefined();
    const children = spans.filter((s) => s.parentSpanId === root.spanId);
    expect(children.map((s) => s.name).sort()).toEqual(["execute_tool echo_tool", "gateway chat gpt-4o-mini", "gateway chat gpt-4o-mini"]);
    expect(spans.every((s) => s.traceId === root.traceId)).toBe(true);
    const tool = children.find((s) => s.name === "execute_tool echo_tool")!;
    expect(attr(tool, "openclaw.outcome")).toBe("ok");
    const calls = children.filter((s) => s.name.startsWith("gateway chat"));
    for (const c of calls) expect(spans.filter((s) => s.parentSpanId === c.spanId).map((s) => s.name)).toEqual(["chat local/fake-mini"]);
    expect(JSON.stringify(spans)).not.toContain("private words");
    expect(JSON.stringify(spans)).not.toContain("echo:");
  });
});
