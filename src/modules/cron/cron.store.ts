// The cron tables' prepared statements and the row ↔ job/run mapping. Every read and write is keyed
// by tenant id: a job id alone never finds a row (another tenant's job is "not found").
import type { Database } from "bun:sqlite";
import type { CronDelivery, CronJob, CronPayload, CronRun, CronRunStatus, CronSchedule } from "./cron.types.ts";

export interface JobRow {
  tenantId: string;
  id: string;
  name: string;
  description: string | null;
  enabled: number;
  schedule: string;
  payload: string;
  delivery: string;
  webhookSecret: string | null;
  deleteAfterRun: number;
  catchUp: string;
  createdAt: number;
  updatedAt: number;
  nextRunAt: number | null;
  wakeAt: number | null;
  lastRunAt: number | null;
  lastStatus: string | null;
  lastError: string | null;
  lastDurationMs: number | null;
  consecutiveErrors: number;
  disabledReason: string | null;
}

interface RunRow {
  id: string;
  jobId: string;
  scheduledAt: number;
  trigger: CronRun["trigger"];
  status: CronRunStatus;
  startedAt: number;
  endedAt: number | null;
  error: string | null;
  runRef: string | null;
  output: string | null;
  inputTokens: number;
  outputTokens: number;
  costMicroUsd: number;
  deliveryStatus: string | null;
  deliveryError: string | null;
}

const JOB_COLS =
  "tenant_id AS tenantId, id, name, description, enabled, schedule, payload, delivery, webhook_secret AS webhookSecret, delete_after_run AS deleteAfterRun, catch_up AS catchUp, created_at AS createdAt, updated_at AS updatedAt, next_run_at AS nextRunAt, wake_at AS wakeAt, last_run_at AS lastRunAt, last_status AS lastStatus, last_error AS lastError, last_duration_ms AS lastDurationMs, consecutive_errors AS consecutiveErrors, disabled_reason AS disabledReason";
const RUN_COLS =
  "id, job_id AS jobId, scheduled_at AS scheduledAt, trigger, status, started_at AS startedAt, ended_at AS endedAt, error, run_ref AS runRef, output, input_tokens AS inputTokens, output_tokens AS outputTokens, cost_micro_usd AS costMicroUsd, delivery_status AS deliveryStatus, delivery_error AS deliveryError";

export function createCronStore(sqlite: Database) {
  const p = (s: string) => sqlite.prepare(s);
  return {
    job: p(`SELECT ${JOB_COLS} FROM cron_jobs WHERE tenant_id = ?1 AND id = ?2`),
    jobsOf: p(`SELECT ${JOB_COLS} FROM cron_jobs WHERE tenant_id = ?1 AND (?2 OR enabled = 1) AND (?3 IS NULL OR instr(lower(name), lower(?3)) > 0 OR instr(lower(coalesce(description, '')), lower(?3)) > 0) ORDER BY created_at, id LIMIT ?4 OFFSET ?5`),
    countOf: p("SELECT count(*) AS n, coalesce(sum(enabled), 0) AS enabled FROM cron_jobs WHERE tenant_id = ?1"),
    countQuery: p("SELECT count(*) AS n FROM cron_jobs WHERE tenant_id = ?1 AND (?2 OR enabled = 1) AND (?3 IS NULL OR instr(lower(name), lower(?3)) > 0 OR instr(lower(coalesce(description, '')), lower(?3)) > 0)"),
    insertJob: p(
      "INSERT INTO cron_jobs (tenant_id, id, name, description, enabled, schedule, payload, delivery, webhook_secret, delete_after_run, catch_up, created_at, updated_at, next_run_at, wake_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14)",
    ),
    updateJob: p(
      "UPDATE cron_jobs SET name = ?3, description = ?4, enabled = ?5, schedule = ?6, payload = ?7, delivery = ?8, webhook_secret = ?9, delete_after_run = ?10, catch_up = ?11, updated_at = ?12, next_run_at = ?13, wake_at = ?14, consecutive_errors = ?15, disabled_reason = ?16 WHERE tenant_id = ?1 AND id = ?2",
    ),
    deleteJob: p("DELETE FROM cron_jobs WHERE tenant_id = ?1 AND id = ?2"),
    deleteRunsOf: p("DELETE FROM cron_runs WHERE tenant_id = ?1 AND job_id = ?2 AND status != 'running'"),
    /** The scheduler's look-ups: both use the partial index on wake_at. */
    due: p(`SELECT ${JOB_COLS} FROM cron_jobs WHERE wake_at IS NOT NULL AND wake_at <= ?1 ORDER BY wake_at LIMIT ?2`),
    nextWake: p("SELECT min(wake_at) AS at FROM cron_jobs WHERE wake_at IS NOT NULL"),
    /** After firing (or skipping) a scheduled time: the next one. */
    advance: p("UPDATE cron_jobs SET next_run_at = ?3, wake_at = ?4 WHERE tenant_id = ?1 AND id = ?2"),
    /** A suspended tenant's due job: looked at again later, its scheduled time kept. */
    defer: p("UPDATE cron_jobs SET wake_at = ?3 WHERE tenant_id = ?1 AND id = ?2"),
    /** INSERT OR IGNORE: a scheduled time already recorded (the UNIQUE index) is not recorded, nor run, again. */
    insertRun: p(
      "INSERT OR IGNORE INTO cron_runs (tenant_id, id, job_id, scheduled_at, trigger, status, started_at, ended_at, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    ),
    finishRun: p(
      "UPDATE cron_runs SET status = ?3, ended_at = ?4, error = ?5, run_ref = coalesce(?6, run_ref), output = ?7, input_tokens = ?8, output_tokens = ?9, cost_micro_usd = ?10 WHERE tenant_id = ?1 AND id = ?2",
    ),
    setRunRef: p("UPDATE cron_runs SET run_ref = ?3 WHERE tenant_id = ?1 AND id = ?2"),
    setDelivery: p("UPDATE cron_runs SET delivery_status = ?3, delivery_error = ?4 WHERE tenant_id = ?1 AND id = ?2"),
    jobRan: p("UPDATE cron_jobs SET last_run_at = ?3, last_status = ?4, last_error = ?5, last_duration_ms = ?6, consecutive_errors = ?7 WHERE tenant_id = ?1 AND id = ?2"),
    disable: p("UPDATE cron_jobs SET enabled = 0, wake_at = NULL, disabled_reason = ?3 WHERE tenant_id = ?1 AND id = ?2"),
    run: p(`SELECT ${RUN_COLS} FROM cron_runs WHERE tenant_id = ?1 AND id = ?2`),
    runsOf: p(`SELECT ${RUN_COLS} FROM cron_runs WHERE tenant_id = ?1 AND (?2 IS NULL OR job_id = ?2) AND (?3 IS NULL OR instr(?3, ',' || status || ',') > 0) ORDER BY started_at DESC, id DESC LIMIT ?4 OFFSET ?5`),
    countRuns: p("SELECT count(*) AS n FROM cron_runs WHERE tenant_id = ?1 AND (?2 IS NULL OR job_id = ?2) AND (?3 IS NULL OR instr(?3, ',' || status || ',') > 0)"),
    /** The job's newest ?3 ended runs kept; ?4, the run being recorded (it may be the oldest: a long run outlived by its skipped times), is never pruned. */
    pruneJob: p(
      "DELETE FROM cron_runs WHERE tenant_id = ?1 AND job_id = ?2 AND status != 'running' AND id IN (SELECT id FROM cron_runs WHERE tenant_id = ?1 AND job_id = ?2 AND status != 'running' AND id != ?4 ORDER BY started_at DESC, id DESC LIMIT -1 OFFSET ?3)",
    ),
    /** Runs of jobs that are gone (deleteAfterRun): the tenant's newest ?2 kept. */
    pruneOrphans: p(
      "DELETE FROM cron_runs WHERE tenant_id = ?1 AND status != 'running' AND id IN (SELECT r.id FROM cron_runs r WHERE r.tenant_id = ?1 AND r.status != 'running' AND NOT EXISTS (SELECT 1 FROM cron_jobs j WHERE j.tenant_id = ?1 AND j.id = r.job_id) ORDER BY r.started_at DESC, r.id DESC LIMIT -1 OFFSET ?2)",
    ),
    running: p("SELECT tenant_id AS tenantId, id, job_id AS jobId FROM cron_runs WHERE status = 'running' AND (?1 IS NULL OR tenant_id = ?1)"),
  };
}

export type CronStore = ReturnType<typeof createCronStore>;

export function jobOf(r: JobRow): CronJob {
  const delivery = JSON.parse(r.delivery) as CronDelivery;
  return {
    id: r.id,
    name: r.name,
    ...(r.description !== null ? { description: r.description } : {}),
    enabled: r.enabled === 1,
    schedule: JSON.parse(r.schedule) as CronSchedule,
    payload: JSON.parse(r.payload) as CronPayload,
    delivery,
    deleteAfterRun: r.deleteAfterRun === 1,
    catchUp: r.catchUp === "skip" ? "skip" : "once",
    createdAtMs: r.createdAt,
    updatedAtMs: r.updatedAt,
    state: {
      nextRunAtMs: r.enabled === 1 ? r.nextRunAt : null,
      runningAtMs: null,
      lastRunAtMs: r.lastRunAt,
      lastRunStatus: (r.lastStatus as CronJob["state"]["lastRunStatus"]) ?? null,
      lastError: r.lastError,
      lastDurationMs: r.lastDurationMs,
      consecutiveErrors: r.consecutiveErrors,
      disabledReason: r.disabledReason,
    },
  };
}

export function runOf(r: RunRow): CronRun {
  return {
    id: r.id,
    jobId: r.jobId,
    scheduledAtMs: r.scheduledAt,
    trigger: r.trigger,
    status: r.status,
    startedAtMs: r.startedAt,
    endedAtMs: r.endedAt,
    durationMs: r.endedAt === null ? null : r.endedAt - r.startedAt,
    error: r.error,
    runRef: r.runRef,
    output: r.output,
    usage: { inputTokens: r.inputTokens, outputTokens: r.outputTokens, costMicroUsd: r.costMicroUsd },
    delivery: r.deliveryStatus === null ? null : { status: r.deliveryStatus as "none" | "ok" | "error", ...(r.deliveryError ? { error: r.deliveryError } : {}) },
  };
}
