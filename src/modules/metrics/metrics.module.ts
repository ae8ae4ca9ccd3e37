// Operator metrics (GET /metrics): counters and histograms the other modules feed.
import { defineModule } from "../module.ts";
import { createMetrics } from "./metrics.ts";

export const metricsModule = defineModule({
  name: "metrics",
  create: () => ({ metrics: createMetrics() }),
});
