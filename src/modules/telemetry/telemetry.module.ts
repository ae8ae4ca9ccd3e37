// OpenTelemetry traces of routed calls over OTLP/HTTP (telemetry.otlp): off unless configured.
import { defineModule } from "../module.ts";
import { createTelemetry } from "./telemetry.ts";

export const telemetryModule = defineModule({
  name: "telemetry",
  create: (platform) => ({ tracing: createTelemetry({ config: platform.config, log: platform.log, version: platform.version }) }),
}).with({
  start: ({ tracing }) => ({ stop: () => tracing.shutdown() }),
});
