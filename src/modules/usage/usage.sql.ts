import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

// One row per routed request. A row is written when the request is admitted (status in_flight, with
// its reservation), and completed when it ends; a row still in_flight after a crash is settled at its
// reserved input on the next start. Rows outlive the tenant: they are what the operator bills from.
export const UsageLedgerTable = sqliteTable(
  "usage_ledger",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    requestId: text("request_id").notNull(),
    model: text("model").notNull(),
    provider: text("provider").notNull(),
    upstreamModel: text("upstream_model").notNull(),
    stream: integer("stream", { mode: "boolean" }).notNull(),
    status: text("status", { enum: ["in_flight", "ok", "error", "client_closed", "interrupted"] }).notNull(),
    httpStatus: integer("http_status"),
    errorCode: text("error_code"),
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
    cacheReadTokens: integer("cache_read_tokens").notNull().default(0),
    cacheWriteTokens: integer("cache_write_tokens").notNull().default(0),
    reasoningTokens: integer("reasoning_tokens").notNull().default(0),
    totalTokens: integer("total_tokens").notNull().default(0),
    costMicroUsd: integer("cost_micro_usd").notNull().default(0),
    /** The reservation made at admission (worst case), kept for crash recovery and audits. */
    reservedTokens: integer("reserved_tokens").notNull(),
    reservedMicroUsd: integer("reserved_micro_usd").notNull(),
    /** Upper bound of the prompt's tokens, charged if the request is cut off before usage arrives. */
    inputBound: integer("input_bound").notNull(),
    /** The rate card entry the request was priced with (JSON), so repricing never rewrites history. */
    rates: text("rates").notNull(),
    startedAt: integer("started_at").notNull(),
    endedAt: integer("ended_at"),
    latencyMs: integer("latency_ms"),
    ttfbMs: integer("ttfb_ms"),
  },
  (t) => [index("usage_ledger_tenant_time_idx").on(t.tenantId, t.startedAt), index("usage_ledger_time_idx").on(t.startedAt), index("usage_ledger_status_idx").on(t.status)],
);

export type UsageRow = typeof UsageLedgerTable.$inferSelect;
