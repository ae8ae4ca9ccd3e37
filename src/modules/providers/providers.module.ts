// LLM provider clients (OpenAI-compatible and Anthropic), built from the gateway config, and each
// model's router over its deployments (router.ts).
import { metricsModule } from "../metrics/metrics.module.ts";
import { defineModule } from "../module.ts";
import { telemetryModule } from "../telemetry/telemetry.module.ts";
import { createProvidersService } from "./providers.service.ts";

export const providersModule = defineModule({
  name: "providers",
  needs: [metricsModule, telemetryModule],
  create: (platform, { metrics, tracing }) => ({
    providers: createProvidersService({
      config: platform.config,
      log: platform.log,
      now: () => platform.clock.now(),
      metrics: { attempt: (l) => metrics.upstreamAttempt(l), fallback: (m) => metrics.upstreamFallback(m), breakerOpened: (m, d) => metrics.upstreamBreakerOpened(m, d) },
      telemetry: tracing.telemetry,
    }),
  }),
});
