// The cron service (CronApi): a tenant's jobs and their runs. Jobs are rows keyed by tenant; every
// look-up is by (tenant, id), so another tenant's job is the same NOT_FOUND as one that does not
// exist. add, update and remove are audited; the scheduler (scheduler.ts) fires the jobs, executions
// (executions.ts) runs them.
import type { Database } from "bun:sqlite";
import type { GatewayConfig } from "../../config/schema.ts";
import type { Clock } from "../../core/clock.ts";
import { AppError } from "../../core/errors.ts";
import type { OpContext } from "../../edge/actor.ts";
import type { TenantIdentity, TenantScope } from "../../edge/tenant-scope.ts";
import type { AuditLog } from "../audit/audit.service.ts";
import { jobOf, runOf, type CronStore, type JobRow } from "./cron.store.ts";
import type { CronApi, CronJob, CronJobInput, CronJobPatch, CronRun, CronRunStatus, CronStatus, Page } from "./cron.types.ts";
import { newWebhookSecret } from "./delivery.ts";
import type { Executions } from "./executions.ts";
import { checkAdd, checkFields } from "./job-input.ts";
import { nextFire } from "./schedule.ts";
import type { Fire, Scheduler } from "./scheduler.ts";
import { opAudit } from "../audit/audit.record.ts";

const notFound = () => new AppError("NOT_FOUND", "cron job not found");
const STATUSES: readonly CronRunStatus[] = ["running", "ok", "error", "skipped"];

function page(q: { limit?: number; offset?: number }, maxLimit: number): { limit: number; offset: number } {
  const limit = q.limit ?? 50;
  const offset = q.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) throw new AppError("INVALID_PARAMS", `limit: must be a whole number, 1 to ${maxLimit}`, { details: { field: "limit" } });
  if (!Number.isInteger(offset) || offset < 0 || offset > 1_000_000) throw new AppError("INVALID_PARAMS", "offset: must be a whole number, 0 to 1000000", { details: { field: "offset" } });
  return { limit, offset };
}

export function createCronService(deps: {
  sqlite: Database;
  store: CronStore;
  clock: Clock;
  config(): GatewayConfig;
  audit: AuditLog;
  scheduler: Scheduler;
  executions: Executions;
  tenants: { incarnation(id: string): string | null; isActive(id: string): boolean };
  newRunId(): string;
}): CronApi & { jobRow(tenant: TenantScope, id: string): JobRow } {
  const { store, clock } = deps;

  const rowOf = (tenant: TenantScope, id: unknown): JobRow => {
    if (typeof id !== "string" || id.length === 0 || id.length > 128) throw notFound();
    const r = store.job.get(tenant.tenantId, id) as JobRow | null;
    if (!r) throw notFound();
    return r;
  };

  const view = (r: JobRow): CronJob => {
    const j = jobOf(r);
    const l = deps.executions.liveRun(r.tenantId, r.id);
    if (l) j.state.runningAtMs = (store.run.get(r.tenantId, l.runId) as { startedAt: number } | null)?.startedAt ?? null;
    return j;
  };

  const entry = (tenant: TenantScope, ctx: OpContext, action: string, id: string, details?: Record<string, unknown>) => opAudit(ctx, action, { type: "cron_job", id }, tenant.tenantId, details);

  const limits = () => {
    const c = deps.config().gateway.cron;
    return { minIntervalMs: c.minIntervalSeconds * 1000, webhookAllow: c.webhookAllow };
  };

  /** The next time a job fires (null: disabled, or an `at` that passed). */
  const nextOf = (j: Pick<CronJob, "enabled" | "schedule" | "createdAtMs">, now: number) => (j.enabled ? nextFire(j.schedule, now, j.createdAtMs) : null);

  return {
    jobRow: rowOf,

    add(identity, input: CronJobInput, op) {
      const now = clock.now();
      const c = checkAdd(input, now, limits());
      const max = deps.config().gateway.cron.maxJobsPerTenant;
      const id = crypto.randomUUID();
      const secret = c.delivery.mode === "webhook" ? newWebhookSecret() : null;
      const next = nextOf({ enabled: c.enabled, schedule: c.schedule, createdAtMs: now }, now);
      deps.audit.transact(entry(identity, op, "cron.add", id, { name: c.name, schedule: c.schedule, payload: c.payload.kind, delivery: c.delivery.mode }), () => {
        const { n } = store.countOf.get(identity.tenantId) as { n: number };
        if (n >= max) throw new AppError("QUOTA_EXCEEDED", `the tenant has ${n} cron jobs, the most it may have (gateway.cron.maxJobsPerTenant = ${max}); remove one first`);
        store.insertJob.run(identity.tenantId, id, c.name, c.description, c.enabled ? 1 : 0, JSON.stringify(c.schedule), JSON.stringify(c.payload), JSON.stringify(c.delivery), secret, c.deleteAfterRun ? 1 : 0, c.catchUp, now, next, next);
      });
      deps.scheduler.changed();
      const job = view(rowOf(identity, id));
      // The signing secret is shown once, here; it is never returned again.
      return secret && job.delivery.mode === "webhook" ? { ...job, delivery: { ...job.delivery, secret } as CronJob["delivery"] } : job;
    },

    update(identity, id, patch: CronJobPatch, op) {
      const now = clock.now();
      const c = checkFields(patch, now, limits(), "patch");
      let fresh: string | null = null;
      deps.audit.transact(entry(identity, op, "cron.update", String(id).slice(0, 128), { fields: Object.keys(c) }), () => {
        const r = rowOf(identity, id);
        const cur = jobOf(r);
        const enabled = c.enabled ?? cur.enabled;
        // A new "every" without an anchor counts from now (the stored anchor: the scheduler computes from it).
        const schedule = c.schedule?.kind === "every" && c.schedule.anchorMs === undefined ? { ...c.schedule, anchorMs: now } : (c.schedule ?? cur.schedule);
        const delivery = c.delivery ?? cur.delivery;
        // A webhook keeps its secret; one that becomes a webhook gets a new one, shown in this answer only.
        let secret: string | null = null;
        if (delivery.mode === "webhook") secret = cur.delivery.mode === "webhook" && r.webhookSecret ? r.webhookSecret : (fresh = newWebhookSecret());
        const reschedule = c.schedule !== undefined || (c.enabled !== undefined && c.enabled !== cur.enabled);
        const next = reschedule ? nextOf({ enabled, schedule, createdAtMs: cur.createdAtMs }, now) : enabled ? r.nextRunAt : null;
        // Enabling again clears the failure streak and the gateway's reason.
        const reenabled = c.enabled === true && !cur.enabled;
        store.updateJob.run(
          identity.tenantId, r.id, c.name ?? cur.name, c.description !== undefined ? c.description : (r.description ?? null), enabled ? 1 : 0,
          JSON.stringify(schedule), JSON.stringify(c.payload ?? cur.payload), JSON.stringify(delivery), secret, (c.deleteAfterRun ?? cur.deleteAfterRun) ? 1 : 0,
          c.catchUp ?? cur.catchUp, now, next, next, reenabled ? 0 : r.consecutiveErrors, reenabled ? null : r.disabledReason,
        );
      });
      deps.scheduler.changed();
      const job = view(rowOf(identity, id));
      return fresh && job.delivery.mode === "webhook" ? { ...job, delivery: { ...job.delivery, secret: fresh } as CronJob["delivery"] } : job;
    },

    remove(identity, id, op) {
      deps.audit.transact(entry(identity, op, "cron.remove", String(id).slice(0, 128)), () => {
        const r = rowOf(identity, id);
        store.deleteJob.run(identity.tenantId, r.id);
        store.deleteRunsOf.run(identity.tenantId, r.id);
      });
      deps.scheduler.changed();
      return { removed: true, id: id as string };
    },

    list(tenant, q) {
      const { limit, offset } = page(q, 500);
      const query = q.query === undefined || q.query === "" ? null : String(q.query).slice(0, 200);
      const all = q.includeDisabled === true ? 1 : 0;
      const rows = store.jobsOf.all(tenant.tenantId, all, query, limit, offset) as JobRow[];
      const { n } = store.countQuery.get(tenant.tenantId, all, query) as { n: number };
      return { items: rows.map(view), total: n, limit, offset } satisfies Page<CronJob>;
    },

    get(tenant, id) {
      return view(rowOf(tenant, id));
    },

    async runNow(identity: TenantScope & Partial<TenantIdentity>, id, _op) {
      const r = rowOf(identity, id);
      const cfg = deps.config().gateway.cron;
      if (deps.executions.busy(identity.tenantId, r.id)) throw new AppError("CONFLICT", "the job has a run in progress; wait for it to end");
      const c = deps.executions.counts(identity.tenantId);
      if (c.tenant >= cfg.maxConcurrentRunsPerTenant) throw new AppError("RATE_LIMITED", `the tenant has ${c.tenant} cron runs going, the most it may (gateway.cron.maxConcurrentRunsPerTenant)`);
      if (c.all >= cfg.maxConcurrentRuns) throw new AppError("RATE_LIMITED", `the gateway has ${c.all} cron runs going, the most it may (gateway.cron.maxConcurrentRuns)`);
      const incarnation = deps.tenants.incarnation(identity.tenantId);
      if (incarnation === null) throw notFound();
      if (!deps.tenants.isActive(identity.tenantId)) throw new AppError("CONFLICT", "the tenant is suspended: its jobs do not run");
      const now = clock.now();
      const f: Fire = { row: r, runId: deps.newRunId(), scheduledAt: now, trigger: "manual", incarnation };
      store.insertRun.run(identity.tenantId, f.runId, r.id, now, "manual", "running", now, null, null);
      deps.executions.claim(f);
      deps.executions.start(f);
      return runOf(store.run.get(identity.tenantId, f.runId) as never);
    },

    runs(tenant, q) {
      const { limit, offset } = page(q, 500);
      if (q.id !== undefined) rowOf(tenant, q.id);
      let statuses: string | null = null;
      if (q.statuses !== undefined) {
        if (!Array.isArray(q.statuses) || q.statuses.some((s) => !STATUSES.includes(s))) throw new AppError("INVALID_PARAMS", `statuses: each must be one of ${STATUSES.join(", ")}`, { details: { field: "statuses" } });
        statuses = `,${q.statuses.join(",")},`;
      }
      const jobId = q.id ?? null;
      const items = (store.runsOf.all(tenant.tenantId, jobId, statuses, limit, offset) as never[]).map(runOf);
      const { n } = store.countRuns.get(tenant.tenantId, jobId, statuses) as { n: number };
      return { items, total: n, limit, offset } satisfies Page<CronRun>;
    },

    status(tenant): CronStatus {
      const { n, enabled } = store.countOf.get(tenant.tenantId) as { n: number; enabled: number };
      const next = (deps.sqlite.query("SELECT min(next_run_at) AS at FROM cron_jobs WHERE tenant_id = ?1 AND enabled = 1").get(tenant.tenantId) as { at: number | null }).at;
      return {
        enabled: deps.config().gateway.cron.enabled,
        schedulerRunning: deps.scheduler.running,
        jobCount: n,
        enabledJobCount: enabled,
        runningCount: deps.executions.runningCount(tenant.tenantId),
        nextWakeAtMs: next ?? null,
      };
    },
  };
}
