import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

// A tenant's cron jobs. schedule, payload and delivery are the job's JSON (cron.types.ts); the
// webhook's signing secret is its own column and never leaves the service after cron.add. next_run_at
// is the scheduled time the job fires next; wake_at is when the scheduler looks at it next (the same,
// except while the tenant is suspended: then it is looked at again later, next_run_at unchanged).
export const CronJobsTable = sqliteTable(
  "cron_jobs",
  {
    tenantId: text("tenant_id").notNull(),
    id: text("id").notNull(),
    name: text("name").notNull(),
    description: text("description"),
    enabled: integer("enabled").notNull(),
    schedule: text("schedule").notNull(),
    payload: text("payload").notNull(),
    delivery: text("delivery").notNull(),
    webhookSecret: text("webhook_secret"),
    deleteAfterRun: integer("delete_after_run").notNull().default(0),
    catchUp: text("catch_up").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    nextRunAt: integer("next_run_at"),
    wakeAt: integer("wake_at"),
    lastRunAt: integer("last_run_at"),
    lastStatus: text("last_status"),
    lastError: text("last_error"),
    lastDurationMs: integer("last_duration_ms"),
    consecutiveErrors: integer("consecutive_errors").notNull().default(0),
    disabledReason: text("disabled_reason"),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index("cron_jobs_wake_idx").on(t.wakeAt).where(sql`${t.wakeAt} IS NOT NULL`)],
);

// Every run of a job: recorded before its payload starts. A scheduled time fires at most once: the
// UNIQUE (tenant, job, scheduled time) of non-manual runs refuses a second record of it, even after a
// crash between the record and the start.
export const CronRunsTable = sqliteTable(
  "cron_runs",
  {
    tenantId: text("tenant_id").notNull(),
    id: text("id").notNull(),
    jobId: text("job_id").notNull(),
    scheduledAt: integer("scheduled_at").notNull(),
    trigger: text("trigger", { enum: ["schedule", "catch-up", "manual"] }).notNull(),
    status: text("status", { enum: ["running", "ok", "error", "skipped"] }).notNull(),
    startedAt: integer("started_at").notNull(),
    endedAt: integer("ended_at"),
    error: text("error"),
    runRef: text("run_ref"),
    output: text("output"),
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
    costMicroUsd: integer("cost_micro_usd").notNull().default(0),
    deliveryStatus: text("delivery_status"),
    deliveryError: text("delivery_error"),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex("cron_runs_once_idx").on(t.tenantId, t.jobId, t.scheduledAt).where(sql`${t.trigger} != 'manual'`),
    index("cron_runs_job_idx").on(t.tenantId, t.jobId, t.startedAt),
    index("cron_runs_tenant_idx").on(t.tenantId, t.startedAt),
    // Only the running ones (start-up recovery looks for them): an index that changes twice per run.
    index("cron_runs_running_idx").on(t.status).where(sql`${t.status} = 'running'`),
  ],
);
