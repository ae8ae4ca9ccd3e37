import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

// One row per routed request. A row is written when the request is admitted (status in_flight, with
// its reservation), and completed when it ends; a row still in_flight after a crash is settled at its
// reserved input on the next start. Rows outlive the tenant: they are what the operator bills from.
export const UsageLedgerTable = sqliteTable(
  "usage_ledger",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    /** The tenant's incarnation when the request was admitted ("" if it had none). */
    incarnation: text("incarnation").notNull(),
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
    /** An agent run's model call: the session key and run id it was made for (null for /v1 requests). */
    sessionKey: text("session_key"),
    runId: text("run_id"),
    /** Which of the model's deployments served the call (`provider/upstreamModel[#key]`, README "Reliable routing"); null if none did. */
    deployment: text("deployment"),
  },
  (t) => [
    index("usage_ledger_tenant_time_idx").on(t.tenantId, t.startedAt),
    // Only rows still in flight: the crash-recovery scan, at no cost to settled rows.
    index("usage_ledger_in_flight_idx").on(t.status).where(sql`${t.status} = 'in_flight'`),
  ],
);

export type UsageRow = typeof UsageLedgerTable.$inferSelect;

// Per UTC day, tenant and model: the sums of settled ledger rows, kept by the ledger writer in the
// same transaction as the rows. Usage reports and quota accounts read this, so they cost the same
// however many requests a tenant makes.
export const UsageDailyTable = sqliteTable(
  "usage_daily",
  {
    tenantId: text("tenant_id").notNull(),
    incarnation: text("incarnation").notNull(),
    day: text("day").notNull(),
    model: text("model").notNull(),
    requests: integer("requests").notNull().default(0),
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
    cacheReadTokens: integer("cache_read_tokens").notNull().default(0),
    cacheWriteTokens: integer("cache_write_tokens").notNull().default(0),
    reasoningTokens: integer("reasoning_tokens").notNull().default(0),
    totalTokens: integer("total_tokens").notNull().default(0),
    costMicroUsd: integer("cost_micro_usd").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.incarnation, t.day, t.model] }), index("usage_daily_day_idx").on(t.day)],
);
