import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

// One row per sandbox run: what the tenant is billed sandbox seconds from, and what an operator
// looks at when a run misbehaves. Never the command's output, arguments or environment.
export const SandboxRunTable = sqliteTable(
  "sandbox_runs",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    incarnation: text("incarnation").notNull(),
    mode: text("mode", { enum: ["bwrap", "docker"] }).notNull(),
    runtime: text("runtime"),
    /** "rpc" (tenant) or "operator" (CLI). */
    origin: text("origin").notNull(),
    startedAt: integer("started_at").notNull(),
    durationMs: integer("duration_ms").notNull(),
    exitCode: integer("exit_code"),
    signal: text("signal"),
    timedOut: integer("timed_out", { mode: "boolean" }).notNull().default(false),
    cpuMs: integer("cpu_ms"),
    memoryPeakBytes: integer("memory_peak_bytes"),
    egressAllowed: integer("egress_allowed").notNull().default(0),
    egressRefused: integer("egress_refused").notNull().default(0),
  },
  (t) => [index("sandbox_runs_tenant_time_idx").on(t.tenantId, t.startedAt)],
);
