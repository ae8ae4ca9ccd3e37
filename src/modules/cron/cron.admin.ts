// Control-plane cron routes (/admin/v1/tenants/:id/cron…): the operator sees and manages a tenant's
// jobs and runs. Authentication is the edge's; each handler names its tenant through the admin's
// context (NOT_FOUND for an unknown tenant) and makes one call into the cron service, which audits
// the changes under the admin as actor.
import { Elysia, t } from "elysia";
import { adminOf } from "../../edge/request-info.ts";
import { routeDoc } from "../../edge/route-doc.ts";
import { JobInputSchema, JobPageSchema, JobPatchSchema, JobSchema, MAX_PAGE, RunPageSchema, RunSchema, RunStatuses, StatusSchema } from "./cron.model.ts";
import type { CronApi, CronJobInput, CronJobPatch, CronRunStatus } from "./cron.types.ts";

const Tenant = t.Object({ id: t.String({ maxLength: 64 }) });
const TenantJob = t.Object({ id: t.String({ maxLength: 64 }), jobId: t.String({ maxLength: 64 }) });
const Paging = {
  limit: t.Optional(t.Numeric({ minimum: 1, maximum: MAX_PAGE })),
  offset: t.Optional(t.Numeric({ minimum: 0 })),
};
const RunsQuery = t.Object({
  ...Paging,
  jobId: t.Optional(t.String({ maxLength: 64, description: "one job's runs (default: every job's)" })),
  statuses: t.Optional(t.String({ maxLength: 64, pattern: `^(${RunStatuses.join("|")})(,(${RunStatuses.join("|")}))*$`, description: "comma-separated: running, ok, error, skipped" })),
});
const doc = routeDoc("cron");

const statusesOf = (s: string | undefined) => (s ? ([...new Set(s.split(","))] as CronRunStatus[]) : undefined);

export function cronAdminRoutes({ cron }: { cron: CronApi }) {
  return new Elysia({ prefix: "/tenants/:id/cron" })
    .get("", ({ params, query, request }) => cron.list(adminOf(request).tenant(params.id), { ...query, includeDisabled: query.includeDisabled ?? true }), {
      params: Tenant,
      query: t.Object({
        ...Paging,
        includeDisabled: t.Optional(t.BooleanString({ description: "default true: the operator sees every job" })),
        query: t.Optional(t.String({ maxLength: 200 })),
      }),
      response: JobPageSchema,
      ...doc("cron.list", "A tenant's cron jobs, by next run, paged"),
    })
    .post(
      "",
      ({ params, body, request, set }) => {
        const admin = adminOf(request);
        const job = cron.add(admin.tenant(params.id), body as CronJobInput, admin);
        set.status = 201;
        return job;
      },
      { params: Tenant, body: JobInputSchema, response: { 201: JobSchema }, ...doc("cron.add", "Add a cron job for a tenant (a webhook delivery's signing secret is in the response, once)", ["CONFLICT", "RATE_LIMITED"]) },
    )
    .get("/status", ({ params, request }) => cron.status(adminOf(request).tenant(params.id)), {
      params: Tenant,
      response: StatusSchema,
      ...doc("cron.status", "A tenant's cron: jobs, enabled jobs, runs in progress, next wake"),
    })
    .get(
      "/runs",
      ({ params, query, request }) => {
        const { jobId, statuses, ...paging } = query;
        return cron.runs(adminOf(request).tenant(params.id), { ...paging, ...(jobId ? { id: jobId } : {}), statuses: statusesOf(statuses) });
      },
      { params: Tenant, query: RunsQuery, response: RunPageSchema, ...doc("cron.runs", "A tenant's cron runs, newest first, paged: outcome, error, usage and cost") },
    )
    .get("/:jobId", ({ params, request }) => cron.get(adminOf(request).tenant(params.id), params.jobId), {
      params: TenantJob,
      response: JobSchema,
      ...doc("cron.get", "One cron job of a tenant, with its state"),
    })
    .patch(
      "/:jobId",
      ({ params, body, request }) => {
        const admin = adminOf(request);
        return cron.update(admin.tenant(params.id), params.jobId, body as CronJobPatch, admin);
      },
      { params: TenantJob, body: JobPatchSchema, response: JobSchema, ...doc("cron.update", "Change a tenant's cron job (enable, disable, reschedule, …)") },
    )
    .delete(
      "/:jobId",
      ({ params, request }) => {
        const admin = adminOf(request);
        return cron.remove(admin.tenant(params.id), params.jobId, admin);
      },
      { params: TenantJob, response: t.Object({ removed: t.Literal(true), id: t.String() }), ...doc("cron.remove", "Remove a tenant's cron job") },
    )
    .post(
      "/:jobId/run",
      ({ params, request }) => {
        const admin = adminOf(request);
        return cron.runNow(admin.tenant(params.id), params.jobId, admin);
      },
      { params: TenantJob, response: RunSchema, ...doc("cron.run", "Run a tenant's cron job now (recorded as a manual run)", ["CONFLICT", "UNAVAILABLE"]) },
    );
}
