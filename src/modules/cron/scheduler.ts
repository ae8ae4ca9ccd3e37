// The scheduler: ONE timer for the whole gateway, armed for the earliest wake_at among the jobs (an
// indexed min()), never polling. When it fires, the due jobs are decided in one transaction: each
// scheduled time gets its run row (UNIQUE per job and time, so it is never recorded — nor run — twice,
// even after a crash between the record and the start) and the job's next time, together; the
// payloads start only after that commit is on disk. Missed times (gateway down, tenant suspended) are
// caught up once within the grace window or skipped, per job; a job still running gets a skipped run
// ("overlap"), as does one past the concurrency caps. Changes made by another process (the CLI) are
// seen at the next wake, at most RESYNC_MS away.
import type { Database } from "bun:sqlite";
import type { GatewayConfig } from "../../config/schema.ts";
import type { Clock } from "../../core/clock.ts";
import type { Logger } from "../../core/logger.ts";
import type { Timers } from "../../core/timers.ts";
import { commitDeferred } from "../../db/deferred-sync.ts";
import type { CronStore, JobRow } from "./cron.store.ts";
import type { CronRun, CronSchedule } from "./cron.types.ts";
import { latestFireBetween, nextFire } from "./schedule.ts";

/** Due jobs decided per transaction; more wait for an immediate next round. */
const BATCH = 1000;
/** A suspended tenant's due job is looked at again this much later (its scheduled time kept). */
export const SUSPENDED_RECHECK_MS = 60_000;
/** Longest sleep: changes another process made are noticed by then. */
export const RESYNC_MS = 30_000;
/** How early a long sleep ends to re-arm for the exact time. */
const PREWAKE_MS = 1000;
/** A time fired later than this (an event loop stalled that long) counts as missed. */
const LATE_IS_MISSED_MS = 60_000;

export interface Fire {
  row: JobRow;
  runId: string;
  scheduledAt: number;
  trigger: CronRun["trigger"];
  incarnation: string;
}

export interface SchedulerDeps {
  sqlite: Database;
  dbFile: string;
  store: CronStore;
  clock: Clock;
  timers: Timers;
  config(): GatewayConfig;
  log: Logger;
  tenants: { incarnation(id: string): string | null; isActive(id: string): boolean };
  /** Whether the job has a run going, and how many runs are going (tenant, all). */
  busy(tenantId: string, jobId: string): boolean;
  counts(tenantId: string): { tenant: number; all: number };
  /** Claims the concurrency slot for a run just recorded (before the commit, so a batch counts it). */
  claim(f: Fire): void;
  /** Starts a recorded run (after its record is durable). */
  start(f: Fire): void;
  /** A recorded run that will not start (the commit failed): its slot is given back. */
  release(f: Fire): void;
  newRunId(): string;
}

export function createScheduler(deps: SchedulerDeps) {
  const { store, clock } = deps;
  let cancel: (() => void) | null = null;
  let armedFor: number | null = null;
  let running = false;
  let startedAt = clock.now();
  let changedSince = true;

  function arm(): void {
    cancel?.();
    cancel = null;
    armedFor = null;
    if (!running) return;
    const now = clock.now();
    const next = deps.config().gateway.cron.enabled ? ((store.nextWake.get() as { at: number | null }).at ?? null) : null;
    const at = next === null ? now + RESYNC_MS : Math.min(next, now + RESYNC_MS);
    armedFor = next;
    // A long sleep is ended a little early and re-armed for the exact time: a timer of many seconds
    // fires tens of milliseconds late on a loaded host, a sub-second one on time.
    const delay = Math.max(0, at - now);
    cancel = deps.timers.setTimer(wake, delay > 2 * PREWAKE_MS ? delay - PREWAKE_MS : delay);
    changedSince = false;
  }

  function wake(): void {
    cancel = null;
    if (!running) return;
    try {
      if (deps.config().gateway.cron.enabled) {
        let n = BATCH;
        while (n === BATCH && running) n = tick();
      }
    } catch (err) {
      deps.log.error("the cron scheduler failed a round; trying again at the next wake", { error: String(err) });
    }
    arm();
  }

  /** One round: the due jobs (up to BATCH) decided in one transaction. Returns how many were due. */
  function tick(): number {
    const now = clock.now();
    const rows = store.due.all(now, BATCH) as JobRow[];
    if (rows.length === 0) return 0;
    const cfg = deps.config().gateway.cron;
    const fires: Fire[] = [];
    // A tenant's state read once per round (a thousand of its jobs may be due together).
    const states = new Map<string, string | null>();
    const work = deps.sqlite.transaction(() => {
      for (const row of rows) decide(row, now, cfg, fires, states);
    });
    let durable: Promise<void>;
    try {
      durable = commitDeferred({ sqlite: deps.sqlite, file: deps.dbFile }, work).durable;
    } catch (err) {
      for (const f of fires) deps.release(f);
      throw err;
    }
    // Exactly once even across a power loss: a payload starts only once its run's record is on disk.
    durable.then(
      () => {
        for (const f of fires) deps.start(f);
      },
      (err) => {
        deps.log.error("could not sync cron run records; their runs did not start", { runs: fires.length, error: String(err) });
        for (const f of fires) deps.release(f);
      },
    );
    return rows.length;
  }

  function decide(row: JobRow, now: number, cfg: GatewayConfig["gateway"]["cron"], fires: Fire[], states: Map<string, string | null>): void {
    if (row.enabled !== 1 || row.nextRunAt === null) {
      store.advance.run(row.tenantId, row.id, row.nextRunAt, null);
      return;
    }
    let incarnation = states.get(row.tenantId);
    if (incarnation === undefined) {
      incarnation = deps.tenants.isActive(row.tenantId) ? deps.tenants.incarnation(row.tenantId) : null;
      states.set(row.tenantId, incarnation);
    }
    if (incarnation === null) {
      // Suspended: nothing fires; the time stays due and is caught up (or skipped) after a resume.
      store.defer.run(row.tenantId, row.id, now + SUSPENDED_RECHECK_MS);
      return;
    }
    // Only the schedule is needed to decide (the payload is read when the run starts).
    const job = { schedule: JSON.parse(row.schedule) as CronSchedule, createdAtMs: row.createdAt, catchUp: row.catchUp };
    const S = row.nextRunAt;
    const missed = S < startedAt || now - S > LATE_IS_MISSED_MS;
    let next: number | null;
    // The minimum interval is enforced here, at the fire, not only by sampling an expression's next
    // times at cron.add (a close pair can lie past the samples; the admin may raise it later): the
    // next time is the schedule's first one at least minIntervalSeconds after this one.
    const minMs = cfg.minIntervalSeconds * 1000;
    if (!missed) {
      fire(row, S, "schedule", now, incarnation, cfg, fires);
      next = nextFire(job.schedule, Math.max(S + minMs - 1, now), job.createdAtMs);
    } else {
      const graceFrom = Math.max(S, now - cfg.catchUpGraceSeconds * 1000);
      const latest = job.catchUp === "once" ? latestFireBetween(job.schedule, graceFrom, now, job.createdAtMs) : null;
      if (latest !== null) fire(row, latest, "catch-up", now, incarnation, cfg, fires);
      else skip(row, S, "missed", now, cfg);
      next = nextFire(job.schedule, latest === null ? now : Math.max(latest + minMs - 1, now), job.createdAtMs);
    }
    store.advance.run(row.tenantId, row.id, next, next);
  }

  function fire(row: JobRow, scheduledAt: number, trigger: CronRun["trigger"], now: number, incarnation: string, cfg: GatewayConfig["gateway"]["cron"], fires: Fire[]): void {
    if (deps.busy(row.tenantId, row.id)) return skip(row, scheduledAt, "overlap: the previous run was still going", now, cfg);
    const c = deps.counts(row.tenantId);
    if (c.tenant >= cfg.maxConcurrentRunsPerTenant) return skip(row, scheduledAt, `concurrency limit: the tenant had ${c.tenant} cron runs going (gateway.cron.maxConcurrentRunsPerTenant)`, now, cfg);
    if (c.all >= cfg.maxConcurrentRuns) return skip(row, scheduledAt, `concurrency limit: the gateway had ${c.all} cron runs going (gateway.cron.maxConcurrentRuns)`, now, cfg);
    const runId = deps.newRunId();
    const r = store.insertRun.run(row.tenantId, runId, row.id, scheduledAt, trigger, "running", now, null, null);
    if (r.changes === 0) return; // this time was recorded already (a crash after its record): never again
    const f: Fire = { row, runId, scheduledAt, trigger, incarnation };
    deps.claim(f);
    fires.push(f);
  }

  function skip(row: JobRow, scheduledAt: number, why: string, now: number, cfg: GatewayConfig["gateway"]["cron"]): void {
    const runId = deps.newRunId();
    const r = store.insertRun.run(row.tenantId, runId, row.id, scheduledAt, "schedule", "skipped", now, now, why);
    if (r.changes === 0) return;
    store.jobRan.run(row.tenantId, row.id, now, "skipped", why, 0, row.consecutiveErrors);
    // Skipped runs are history like ended ones: a job skipped at every time (overlap, a cap) stays at runsKeptPerJob.
    store.pruneJob.run(row.tenantId, row.id, cfg.runsKeptPerJob, "");
  }

  return {
    start(): void {
      running = true;
      startedAt = clock.now();
      arm();
    },
    stop(): void {
      running = false;
      cancel?.();
      cancel = null;
      armedFor = null;
    },
    /** A job was added, changed or removed in this process: the timer may need an earlier wake. */
    changed(): void {
      changedSince = true;
      if (running) arm();
    },
    /** Runs due rounds now (tests drive the scheduler by hand with ManualTimers; this is what the timer calls). */
    wake,
    get running() {
      return running;
    },
    /** When the next job is due (the timer is armed for it, or for the resync wake before it). */
    nextWakeAt(): number | null {
      return armedFor;
    },
    get pendingChange() {
      return changedSince;
    },
  };
}

export type Scheduler = ReturnType<typeof createScheduler>;
