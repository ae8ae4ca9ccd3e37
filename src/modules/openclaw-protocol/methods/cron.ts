// The protocol-v4 cron methods — cron.list, cron.status, cron.get, cron.add, cron.update,
// cron.remove, cron.run, cron.runs — on the tenant's own jobs (the cron module's service, scoped to
// the connection's tenant), in upstream's params and result shapes (cron-view.ts), and the `cron`
// event for each run's start and end. A job of another tenant is upstream's "not found" answer, word
// for word the one an unknown id gets. add, update and remove are audited by the service and each
// takes one of the tenant's audited changes, as on every other surface.
import { createHash } from "node:crypto";
import type { TenantIdentity, TenantScope } from "../../../edge/tenant-scope.ts";
import { isAppError } from "../../../core/errors.ts";
import type { Admission } from "../../admission/admission.service.ts";
import type { CronApi, CronJob, CronRunStatus } from "../../cron/cron.types.ts";
import type { EventsService } from "../../events/events.service.ts";
import { params } from "../method-params.ts";
import { V4Error, type V4Context, type V4Method } from "../methods.ts";
import { opOf } from "../turns.ts";
import { inputFrom, invalid, jobView, patchFrom, runView } from "./cron-view.ts";

export interface CronDeps {
  cron: CronApi;
  admission: Admission;
  events: EventsService;
}

const PAGE = 200;
/** Jobs a filtered or sorted listing reads at most (the operator's cap per tenant is far below). */
const SCAN = 10_000;
const FINISHED: CronRunStatus[] = ["ok", "error", "skipped"];

const identity = (ctx: V4Context) => ctx.tenant as TenantScope & Partial<TenantIdentity>;

/** The id a call names (`id`, or upstream's older `jobId`). */
function idOf(method: string, raw: Record<string, unknown>): string {
  const v = raw.id ?? raw.jobId;
  if (typeof v !== "string" || v.trim() === "") return invalid(method, "missing id");
  if (v.length > 200) return invalid(method, "id must be at most 200 characters");
  return v.trim();
}

/** Every job of the tenant, disabled ones too (bounded by SCAN). */
function allJobs(svc: CronDeps, tenant: TenantScope): CronJob[] {
  const out: CronJob[] = [];
  for (let offset = 0; offset < SCAN; offset += PAGE) {
    const page = svc.cron.list(tenant, { includeDisabled: true, limit: PAGE, offset });
    out.push(...page.items);
    if (page.items.length < PAGE || out.length >= page.total) break;
  }
  return out;
}

/**
 * The job in upstream's shape, with the webhook signing key the service made for this answer (cron.add,
 * or cron.update turning a job into a webhook) in `deliveryPreview`: the only copy, shown once.
 */
function withKey(job: CronJob & { delivery: { secret?: string } }): Record<string, unknown> {
  const secret = job.delivery.secret;
  return {
    ...jobView(job),
    ...(secret ? { deliveryPreview: { label: "webhook (signed)", detail: `X-OpenClawMU-Signature: sha256=HMAC-SHA256(secret, timestamp + "." + body); secret (shown once): ${secret}` } } : {}),
  };
}

export function cronMethods(svc: CronDeps): V4Method[] {
  /** The caller's job, or upstream's not-found answer (the same for another tenant's job as for none). */
  function jobOf(ctx: V4Context, id: string, wording: "get" | "other" = "other"): CronJob {
    try {
      return svc.cron.get(ctx.tenant, id);
    } catch (err) {
      if (!isAppError(err) || err.code !== "NOT_FOUND") throw err;
      const what = wording === "get" ? `cron job not found: ${id}.` : `Automation not found: ${id}.`;
      throw new V4Error("INVALID_REQUEST", `${what} List automations and retry with a current job id.`, { code: "CRON_JOB_NOT_FOUND", jobId: id });
    }
  }
  const change = (ctx: V4Context, method: string) => svc.admission.spendChange(ctx.tenant.tenantId, method);

  return [
    {
      name: "cron.list",
      scope: "operator.read",
      mutates: false,
      async handle(ctx, raw) {
        const p = params("cron.list", raw);
        const limitAsked = p.int("limit", { min: 1, max: PAGE });
        const offsetAsked = p.int("offset", { min: 0 }) ?? 0;
        const enabled = p.str("enabled") ?? (p.bool("includeDisabled") ? "all" : "enabled");
        const kind = p.str("scheduleKind") ?? "all";
        const last = p.str("lastRunStatus") ?? "all";
        const agentId = p.str("agentId", { max: 64 });
        const query = p.str("query", { max: 200 })?.trim().toLowerCase();
        const sortBy = p.str("sortBy") ?? "nextRunAtMs";
        const dir = p.str("sortDir") === "desc" ? -1 : 1;
        const jobs = allJobs(svc, ctx.tenant)
          .map((j) => jobView(j))
          .filter((j) => enabled === "all" || (enabled === "enabled") === j.enabled)
          .filter((j) => kind === "all" || (j.schedule as { kind: string }).kind === kind)
          .filter((j) => last === "all" || (j.lastRunStatus ?? "unknown") === last)
          .filter((j) => !agentId || (j.agentId ?? "main") === agentId)
          .filter((j) => !query || [j.id, j.name, j.description ?? ""].join(" ").toLowerCase().includes(query));
        const key = (j: Record<string, unknown>) => (sortBy === "name" ? String(j.name).toLowerCase() : sortBy === "updatedAtMs" ? Number(j.updatedAtMs) : Number(j.nextRunAtMs ?? Number.MAX_SAFE_INTEGER));
        jobs.sort((a, b) => {
          const [x, y] = [key(a), key(b)];
          return (x < y ? -1 : x > y ? 1 : String(a.id).localeCompare(String(b.id))) * dir;
        });
        const total = jobs.length;
        const offset = Math.min(offsetAsked, total);
        const limit = limitAsked ?? (total === 0 ? 50 : Math.min(total, PAGE));
        const page = jobs.slice(offset, offset + limit).map((j) => ({ ...j, effectiveAgentId: j.agentId ?? null }));
        const next = offset + page.length;
        // Upstream's CLI pages through the list and checks that every page is of the same listing.
        const snapshotRevision = `sha256:${createHash("sha256").update(JSON.stringify(jobs)).digest("base64url")}`;
        return { jobs: page, snapshotRevision, total, offset, limit, hasMore: next < total, nextOffset: next < total ? next : null };
      },
    },
    {
      name: "cron.status",
      scope: "operator.read",
      mutates: false,
      async handle(ctx) {
        const s = svc.cron.status(ctx.tenant);
        // Upstream's answer names its store's path: a tenant is never told where anything is kept.
        return { enabled: s.enabled, storage: "sqlite", jobs: s.jobCount, nextWakeAtMs: s.enabled ? s.nextWakeAtMs : null };
      },
    },
    {
      name: "cron.get",
      scope: "operator.read",
      mutates: false,
      handle: async (ctx, raw) => jobView(jobOf(ctx, idOf("cron.get", raw), "get")),
    },
    {
      name: "cron.add",
      scope: "operator.write",
      mutates: true,
      async handle(ctx, raw) {
        const input = inputFrom(raw);
        change(ctx, "cron.add");
        return withKey(svc.cron.add(identity(ctx), input, opOf(ctx)));
      },
    },
    {
      name: "cron.update",
      scope: "operator.write",
      mutates: true,
      async handle(ctx, raw) {
        const id = idOf("cron.update", raw);
        const patch = patchFrom(raw.patch, jobOf(ctx, id));
        if (Object.keys(patch).length === 0) return jobView(jobOf(ctx, id)); // nothing this gateway keeps was changed
        change(ctx, "cron.update");
        return withKey(svc.cron.update(identity(ctx), id, patch, opOf(ctx)));
      },
    },
    {
      name: "cron.remove",
      scope: "operator.write",
      mutates: true,
      async handle(ctx, raw) {
        const id = idOf("cron.remove", raw);
        jobOf(ctx, id);
        change(ctx, "cron.remove");
        svc.cron.remove(identity(ctx), id, opOf(ctx));
        return { ok: true, removed: true };
      },
    },
    {
      name: "cron.run",
      scope: "operator.write",
      mutates: true,
      async handle(ctx, raw) {
        const id = idOf("cron.run", raw);
        const mode = raw.mode ?? "force";
        if (mode !== "force" && mode !== "due" && mode !== "if-enabled") return invalid("cron.run", 'mode must be "due", "force" or "if-enabled"');
        const job = jobOf(ctx, id);
        if (mode !== "force" && !job.enabled) return { ok: true, ran: false, reason: "disabled" };
        if (mode === "due" && (job.state.nextRunAtMs === null || job.state.nextRunAtMs > Date.now())) return { ok: true, ran: false, reason: "not-due" };
        const run = await svc.cron.runNow(identity(ctx), id, opOf(ctx));
        if (run.status === "skipped") return { ok: true, ran: false, reason: run.error === "overlap" ? "already-running" : (run.error ?? "skipped") };
        return { ok: true, enqueued: true, runId: run.id };
      },
    },
    {
      name: "cron.runs",
      scope: "operator.read",
      mutates: false,
      async handle(ctx, raw) {
        const p = params("cron.runs", raw);
        const hasId = raw.id !== undefined || raw.jobId !== undefined;
        const scope = p.str("scope") ?? (hasId ? "job" : "all");
        if (scope !== "job" && scope !== "all") return invalid("cron.runs", 'scope must be "job" or "all"');
        const limit = p.int("limit", { min: 1, max: PAGE }) ?? 50;
        const offset = p.int("offset", { min: 0 }) ?? 0;
        const asked = p.strings("statuses", { max: 3, maxLength: 16 }) ?? (p.str("status") && p.str("status") !== "all" ? [p.str("status")!] : undefined);
        for (const s of asked ?? []) if (!(FINISHED as string[]).includes(s)) invalid("cron.runs", 'statuses must hold "ok", "error" or "skipped"');
        const statuses = (asked ?? FINISHED) as CronRunStatus[];
        let names: Map<string, string>;
        let id: string | undefined;
        if (scope === "job") {
          id = idOf("cron.runs", raw);
          const job = jobOf(ctx, id);
          names = new Map([[job.id, job.name]]);
        } else names = new Map(allJobs(svc, ctx.tenant).map((j) => [j.id, j.name]));
        const page = svc.cron.runs(ctx.tenant, { ...(id ? { id } : {}), limit, offset, statuses });
        const entries = page.items.map((r) => runView(r, names.get(r.jobId)));
        const next = page.offset + entries.length;
        return { entries, total: page.total, offset: page.offset, limit: page.limit, hasMore: next < page.total, nextOffset: next < page.total ? next : null };
      },
    },
  ];
}

/**
 * The tenant's cron runs, as upstream's `cron` event: `{jobId, action: "started"|"finished", runId,
 * status, …}` for each run of the connection's own tenant (its bus is the tenant's; the listener goes
 * with the connection or the tenant's stop).
 */
export function attachCronEvents(svc: Pick<CronDeps, "events">, ctx: V4Context): void {
  const unsubscribe = svc.events.subscribe(ctx.tenant, (e) => {
    if (e.method !== "cron" || ctx.signal.aborted) return;
    const p = e.params as Record<string, unknown>;
    if (typeof p.jobId !== "string" || (p.action !== "started" && p.action !== "finished")) return;
    const status = p.action === "finished" && typeof p.status === "string" && p.status !== "running" ? p.status : undefined;
    const out: Record<string, unknown> = { jobId: p.jobId, action: p.action };
    for (const k of ["runId", "error", "runAtMs", "durationMs", "nextRunAtMs", "summary"] as const) if (p[k] !== undefined && p[k] !== null) out[k] = p[k];
    if (status) out.status = status;
    try {
      ctx.emit("cron", out);
    } catch {
      // The connection is going; its close ends this listener.
    }
  });
  ctx.onClose(unsubscribe);
  ctx.signal.addEventListener("abort", unsubscribe, { once: true });
}
