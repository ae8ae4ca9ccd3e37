// OpenTelemetry export (README "OpenTelemetry"): with telemetry.otlp.endpoint set, every routed call
// becomes a trace — a gateway span for the call and a client span per upstream attempt (provider,
// deployment, key name, outcome, timings) — exported over OTLP/HTTP (JSON) by the official SDK in
// batches off the request path. Prompts and completions are recorded only with telemetry.otlp.content:
// they are tenant data the operator's collector would otherwise never see. Attribute values are
// capped so one request cannot make an export batch huge.
import { context, SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import type { GatewayConfig } from "../../config/schema.ts";
import type { Logger } from "../../core/logger.ts";
import type { AttemptSpan, RouteSpan, Telemetry } from "./telemetry-hook.ts";

type Otlp = NonNullable<GatewayConfig["telemetry"]["otlp"]>;

/** Bytes of prompt or completion text one attribute may hold (content opted in). */
const CONTENT_CAP = 16 * 1024;
const cap = (s: string) => (s.length > CONTENT_CAP ? `${s.slice(0, CONTENT_CAP)}…` : s);

let contextManager: AsyncLocalStorageContextManager | null = null;

export function createTelemetry(deps: { config: () => GatewayConfig; log: Logger; version: string }) {
  let current: { otlp: Otlp; provider: TracerProvider } | null = null;

  function tracerFor(otlp: Otlp | undefined) {
    if (current && current.otlp !== otlp) {
      void current.provider.shutdown().catch(() => {});
      current = null;
    }
    if (!otlp) return null;
    if (!current) {
      // Spans started inside an agent turn find it as their parent through async context; registered
      // once per process, and only once tracing is on (it costs nothing to requests otherwise).
      if (!contextManager) {
        contextManager = new AsyncLocalStorageContextManager().enable();
        context.setGlobalContextManager(contextManager);
      }
      const exporter = new OTLPTraceExporter({ url: otlp.endpoint, headers: otlp.headers ?? {} });
      const provider = new TracerProvider({
        resource: resourceFromAttributes({ "service.name": otlp.serviceName, "service.version": deps.version }),
        spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 1000, maxQueueSize: 4096, maxExportBatchSize: 512 })],
      });
      current = { otlp, provider };
    }
    return current.provider.getTracer("openclawmu", deps.version);
  }

  const telemetry: Telemetry = {
    inRun: (_run, fn) => fn(),
    toolStep: () => undefined,
    route(model, stream, payload): RouteSpan | undefined {
      const otlp = deps.config().telemetry.otlp;
      const tracer = tracerFor(otlp);
      if (!tracer || !otlp) return undefined;
      const root: Span = tracer.startSpan(`gateway chat ${model}`, {
        kind: SpanKind.SERVER,
        attributes: { "gen_ai.operation.name": "chat", "gen_ai.request.model": model, "openclaw.stream": stream, "openclaw.request_bytes": Buffer.byteLength(payload) },
      });
      if (otlp.content) root.setAttribute("gen_ai.prompt", cap(payload));
      const parent = trace.setSpan(context.active(), root);
      // A provider's error message may quote the request: without content, a span says only the outcome.
      const said = (outcome: string, error?: string) => (otlp.content && error ? cap(error) : outcome);
      return {
        attempt(a): AttemptSpan {
          const span = tracer.startSpan(
            `chat ${a.deployment}`,
            { kind: SpanKind.CLIENT, attributes: { "gen_ai.operation.name": "chat", "gen_ai.request.model": model, "openclaw.provider": a.provider, "openclaw.deployment": a.deployment, "openclaw.key": a.key, "openclaw.attempt": a.attempt } },
            parent,
          );
          return {
            end(outcome, error) {
              span.setAttribute("openclaw.outcome", outcome);
              if (outcome !== "ok") span.setStatus({ code: SpanStatusCode.ERROR, message: said(outcome, error) });
              span.end();
            },
          };
        },
        served(deployment) {
          root.setAttribute("openclaw.deployment", deployment);
        },
        completion(text) {
          if (otlp.content) root.setAttribute("gen_ai.completion", cap(text()));
        },
        end(outcome, error) {
          root.setAttribute("openclaw.outcome", outcome);
          if (outcome !== "ok") root.setStatus({ code: SpanStatusCode.ERROR, message: said(outcome, error) });
          root.end();
        },
      };
    },
  };

  telemetry.inRun = async (run, fn) => {
    const otlp = deps.config().telemetry.otlp;
    const tracer = tracerFor(otlp);
    if (!tracer) return fn();
    const span = tracer.startSpan(`agent run ${run.agentId}`, { kind: SpanKind.INTERNAL, attributes: { "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.id": run.agentId, "openclaw.run_id": run.runId } });
    try {
      const end = await context.with(trace.setSpan(context.active(), span), fn);
      span.setAttribute("openclaw.outcome", end.status);
      if (end.status !== "ok") span.setStatus({ code: SpanStatusCode.ERROR, message: end.status });
      return end;
    } catch (err) {
      span.setAttribute("openclaw.outcome", "error");
      span.setStatus({ code: SpanStatusCode.ERROR, message: "error" });
      throw err;
    } finally {
      span.end();
    }
  };
  telemetry.toolStep = (a, args) => {
    const otlp = deps.config().telemetry.otlp;
    const tracer = tracerFor(otlp);
    if (!tracer || !otlp) return undefined;
    const span = tracer.startSpan(`execute_tool ${a.tool}`, { kind: SpanKind.INTERNAL, attributes: { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": a.tool, "openclaw.step": a.step } });
    if (otlp.content) span.setAttribute("gen_ai.tool.call.arguments", cap(args()));
    return {
      end(outcome, result) {
        span.setAttribute("openclaw.outcome", outcome);
        if (otlp.content) span.setAttribute("gen_ai.tool.call.result", cap(result()));
        if (outcome !== "ok") span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
        span.end();
      },
    };
  };

  return {
    telemetry,
    /** Exports what is buffered (tests; the gateway's stop). */
    async flush(): Promise<void> {
      await current?.provider.forceFlush();
    },
    async shutdown(): Promise<void> {
      const c = current;
      current = null;
      await c?.provider.shutdown().catch((err) => deps.log.warn("could not export the last traces", { error: String(err) }));
    },
  };
}

export type TelemetryService = ReturnType<typeof createTelemetry>;
