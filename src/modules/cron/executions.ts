// The runs going on now: each started after its record committed, ended by its payload, the tenant
// stopping, or the gateway closing. The end is recorded with its outcome, usage and cost; the job's
// failure streak is counted and, at gateway.cron.maxConsecutiveFailures, the job is disabled with the
// reason (audited as cron.disabled); the result is delivered; a deleteAfterRun job goes after a
// successful run.
import type { Database } from "bun:sqlite";
import type { GatewayConfig } from "../../config/schema.ts";
import type { Clock } from "../../core/clock.ts";
import type { Logger } from "../../core/logger.ts";
import { commitDeferred } from "../../db/deferred-sync.ts";
import type { AuditLog } from "../audit/audit.service.ts";
import type { EventsService } from "../events/events.service.ts";
import type { TenantStop } from "../module.ts";
import { jobIdentity, type TenantState } from "./cron.identity.ts";
import { jobOf, runOf, type CronStore, type JobRow } from "./cron.store.ts";
import type { CronRun } from "./cron.types.ts";
import type { DeliveryOutcome } from "./delivery.ts";
import type { PayloadResult, PayloadRunner } from "./runner.ts";
import type { Fire } from "./scheduler.ts";

interface Live {
  tenantId: string;
  jobId: string;
  runId: string;
  incarnation: string;
  controller: AbortController;
  done: Promise<void>;
}

const SYSTEM = { kind: "system" as const, id: "cron" };

export function createExecutions(deps: {
  sqlite: Database;
  dbFile: string;
  store: CronStore;
  clock: Clock;
  log: Logger;
  config(): GatewayConfig;
  tenants: TenantState;
  audit: AuditLog;
  events: EventsService;
  runner: PayloadRunner;
  deliver(row: JobRow, run: CronRun): Promise<DeliveryOutcome>;
}) {
  const { store, clock } = deps;
  const live = new Map<string, Live>(); // by tenant + job
  const perTenant = new Map<string, number>();
  const k = (t: string, j: string) => `${t}\u0000${j}`;
  let closed = false;

  function claim(f: Fire): void {
    const l: Live = { tenantId: f.row.tenantId, jobId: f.row.id, runId: f.runId, incarnation: f.incarnation, controller: new AbortController(), done: Promise.resolve() };
    live.set(k(l.tenantId, l.jobId), l);
    perTenant.set(l.tenantId, (perTenant.get(l.tenantId) ?? 0) + 1);
  }

  function release(f: Fire): void {
    const key = k(f.row.tenantId, f.row.id);
    const l = live.get(key);
    if (!l || l.runId !== f.runId) return;
    live.delete(key);
    const n = (perTenant.get(l.tenantId) ?? 1) - 1;
    if (n <= 0) perTenant.delete(l.tenantId);
    else perTenant.set(l.tenantId, n);
  }

  function start(f: Fire): void {
    const l = live.get(k(f.row.tenantId, f.row.id));
    if (!l || l.runId !== f.runId) return;
    // The gateway stopped while the record was syncing: the run stays recorded as running and the
    // next start marks it interrupted (it never runs after the stop).
    if (closed) return release(f);
    l.done = execute(f, l).finally(() => release(f));
  }

  async function execute(f: Fire, l: Live): Promise<void> {
    const identity = jobIdentity(deps.tenants, f.row, f.incarnation);
    const job = jobOf(f.row);
    const scope = identity;
    deps.events.publish(scope, { method: "cron", params: { action: "started", jobId: job.id, runId: f.runId, status: "running" } });
    let result: PayloadResult;
    if (l.controller.signal.aborted) result = { status: "error", error: String(l.controller.signal.reason ?? "aborted"), output: null, usage: { inputTokens: 0, outputTokens: 0, costMicroUsd: 0 } };
    else {
      try {
        result = await deps.runner(identity, job, f.runId, l.controller.signal, (ref) => {
          try {
            store.setRunRef.run(f.row.tenantId, f.runId, ref);
          } catch {}
        });
      } catch (err) {
        result = { status: "error", error: String(err).slice(0, 1024), output: null, usage: { inputTokens: 0, outputTokens: 0, costMicroUsd: 0 } };
      }
      if (l.controller.signal.aborted && result.status === "ok") result = { ...result, status: "error", error: String(l.controller.signal.reason) };
    }
    const run = await finish(f, result);
    if (!run) return;
    deps.events.publish(scope, { method: "cron", params: { action: "finished", jobId: job.id, runId: f.runId, status: run.status } });
    if (job.delivery.mode === "none" || l.controller.signal.aborted) return;
    const outcome = await deps.deliver(f.row, run);
    try {
      store.setDelivery.run(f.row.tenantId, f.runId, outcome.status, outcome.error ?? null);
    } catch {}
  }

  // Ends are recorded in groups: every run that ended in the same turn of the event loop commits in
  // one transaction (a thousand jobs due at the same minute end together; one commit each would queue
  // a thousand WAL syncs).
  const ends: { f: Fire; r: PayloadResult; at: number; done: (run: CronRun | null) => void }[] = [];
  let flushing = false;

  /** Records the end; resolves to the run as recorded (null: it could not be recorded). */
  function finish(f: Fire, r: PayloadResult): Promise<CronRun | null> {
    return new Promise((done) => {
      ends.push({ f, r, at: clock.now(), done });
      if (!flushing) {
        flushing = true;
        setImmediate(flushEnds);
      }
    });
  }

  function flushEnds(): void {
    flushing = false;
    const batch = ends.splice(0);
    const after: (() => void)[] = [];
    const cfg = deps.config().gateway.cron;
    try {
      const { durable } = commitDeferred({ sqlite: deps.sqlite, file: deps.dbFile }, () => deps.sqlite.transaction(() => batch.forEach((e) => recordEnd(e.f, e.r, e.at, cfg, after)))());
      durable.catch((e) => deps.log.warn("could not fsync cron runs' ends", { error: String(e) }));
    } catch (err) {
      deps.log.warn("could not record cron runs' ends", { runs: batch.length, error: String(err) });
      for (const e of batch) e.done(null);
      return;
    }
    for (const fn of after) fn();
    // Each waiter hears its run (null if its row is gone, e.g. the tenant was deleted meanwhile): a
    // throw here would be uncaught (a setImmediate) and stop the gateway, and strand the others' slots.
    for (const e of batch) {
      let run: CronRun | null = null;
      try {
        const row = store.run.get(e.f.row.tenantId, e.f.runId);
        run = row ? runOf(row as never) : null;
      } catch (err) {
        deps.log.warn("could not read a cron run's record", { error: String(err) });
      }
      e.done(run);
    }
  }

  function recordEnd(f: Fire, r: PayloadResult, now: number, cfg: GatewayConfig["gateway"]["cron"], after: (() => void)[]): void {
    const { tenantId, id: jobId } = f.row;
    store.finishRun.run(tenantId, f.runId, r.status, now, r.error, null, r.output, r.usage.inputTokens, r.usage.outputTokens, r.usage.costMicroUsd);
    const row = store.job.get(tenantId, jobId) as JobRow | null;
    if (!row) return; // removed meanwhile
    const streak = r.status === "ok" ? 0 : row.consecutiveErrors + 1;
    store.jobRan.run(tenantId, jobId, now, r.status, r.error, now - (store.run.get(tenantId, f.runId) as { startedAt: number }).startedAt, streak);
    store.pruneJob.run(tenantId, jobId, cfg.runsKeptPerJob, f.runId);
    if (r.status === "error" && streak >= cfg.maxConsecutiveFailures && row.enabled === 1) {
      const reason = `disabled by the gateway after ${streak} failed runs in a row (gateway.cron.maxConsecutiveFailures); last error: ${r.error ?? "unknown"}`.slice(0, 1024);
      after.push(() => setState(f.row, "cron.disabled", { reason }, () => store.disable.run(tenantId, jobId, reason)));
    } else if (r.status === "ok" && row.deleteAfterRun === 1) {
      after.push(() => {
        setState(f.row, "cron.remove", { reason: "deleteAfterRun" }, () => store.deleteJob.run(tenantId, jobId));
        store.pruneOrphans.run(tenantId, cfg.runsKeptPerJob);
      });
    }
  }

  /** A change the gateway makes to a job on its own: audited like the tenant's. */
  function setState(row: JobRow, action: string, details: Record<string, unknown>, change: () => void): void {
    try {
      deps.audit.transact({ actor: SYSTEM, action, target: { type: "cron_job", id: row.id }, tenant: row.tenantId, requestId: `cron_${clock.now()}`, details }, change);
    } catch (err) {
      deps.log.error(`could not record ${action} for a cron job`, { tenant: row.tenantId, job: row.id, error: String(err) });
    }
  }

  return {
    claim,
    start,
    release,
    busy: (tenantId: string, jobId: string) => live.has(k(tenantId, jobId)),
    counts: (tenantId: string) => ({ tenant: perTenant.get(tenantId) ?? 0, all: live.size }),
    /** The run going for this job, if any (its promise settles when it has ended and been recorded). */
    liveRun: (tenantId: string, jobId: string) => live.get(k(tenantId, jobId)) ?? null,
    runningCount: (tenantId?: string) => (tenantId === undefined ? live.size : (perTenant.get(tenantId) ?? 0)),
    /** TenantData.onStop: the stopped incarnation's runs end (a job is not tied to a token: revocations do not concern it). */
    stopTenant(s: TenantStop): Promise<unknown> | null {
      if (s.reason === "token-revoked") return null;
      const ending: Promise<void>[] = [];
      for (const l of live.values()) {
        if (l.tenantId !== s.tenantId || l.incarnation !== s.incarnation) continue;
        l.controller.abort(`the run ended: tenant ${s.reason}`);
        ending.push(l.done);
      }
      return ending.length ? Promise.allSettled(ending) : null;
    },
    /** Ends every run (the gateway closes). */
    async stopAll(): Promise<void> {
      closed = true;
      const ending = [...live.values()].map((l) => {
        l.controller.abort("the run ended: the gateway stopped");
        return l.done;
      });
      await Promise.allSettled(ending);
    },
    /** Runs recorded as running that this process does not run: interrupted (a crash or a stop). */
    recover(tenantId?: string): number {
      const rows = store.running.all(tenantId ?? null) as { tenantId: string; id: string; jobId: string }[];
      let n = 0;
      const now = clock.now();
      for (const r of rows) {
        const l = live.get(k(r.tenantId, r.jobId));
        if (l && l.runId === r.id) continue;
        store.finishRun.run(r.tenantId, r.id, "error", now, "interrupted by restart: the gateway stopped before the run finished", null, null, 0, 0, 0);
        store.jobRan.run(r.tenantId, r.jobId, now, "error", "interrupted by restart", null, (store.job.get(r.tenantId, r.jobId) as JobRow | null)?.consecutiveErrors ?? 0);
        n++;
      }
      if (n > 0) deps.log.warn("marked interrupted cron runs as failed", { runs: n });
      return n;
    },
  };
}

export type Executions = ReturnType<typeof createExecutions>;
