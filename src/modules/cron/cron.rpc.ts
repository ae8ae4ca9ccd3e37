// Tenant RPC methods of cron: add, update, remove, list, get, run, runs, status — each for the
// caller's own jobs only (defineTenantMethod); another tenant's job is the same NOT_FOUND as one that
// does not exist (the service looks jobs up under the caller's tenant). A job is named by `id` or, as
// upstream's clients send it, `jobId`. add, update and remove are audited changes.
import { Type as T } from "@sinclair/typebox";
import { AppError } from "../../core/errors.ts";
import { defineTenantMethod } from "../../edge/rpc.ts";
import { EXAMPLE_JOB_ID, JobId, JobInputFields, JobPageSchema, JobPatchSchema, JobSchema, ListQueryFields, RunPageSchema, RunSchema, RunsQueryFields, StatusSchema } from "./cron.model.ts";
import type { CronApi, CronJobInput, CronJobPatch } from "./cron.types.ts";

const Named = { id: T.Optional(JobId), jobId: T.Optional(T.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$", description: "the same as id (upstream's clients send either)" })) };

/** The job a call names: `id` or `jobId` (the two agreeing when both are sent). */
export function jobIdOf(p: { id?: string; jobId?: string }, where = "params"): string {
  if (p.id !== undefined && p.jobId !== undefined && p.id !== p.jobId) throw new AppError("INVALID_PARAMS", `${where}.id and ${where}.jobId name different jobs; send one of them`);
  const id = p.id ?? p.jobId;
  if (id === undefined) throw new AppError("INVALID_PARAMS", `${where}.id is required (the job's id, from cron.add or cron.list)`);
  return id;
}

export function cronRpc({ cron }: { cron: CronApi }) {
  return [
    defineTenantMethod({
      name: "cron.add",
      summary:
        "Adds a scheduled job: an agent turn or a sandbox command, on a cron expression (with a time zone), an interval or once at a time. A webhook delivery's signing key is in the answer, once.",
      params: JobInputFields,
      result: JobSchema,
      mutates: true,
      audited: true,
      returnsSecret: true,
      example: { name: "daily summary", schedule: { kind: "cron", expr: "0 9 * * *", tz: "Europe/Berlin" }, payload: { kind: "agentTurn", message: "Summarise yesterday's notes" } },
      handler: (tenant, p, ctx) => cron.add(tenant, p as CronJobInput, ctx.op),
    }),
    defineTenantMethod({
      name: "cron.update",
      summary: "Changes a job: the fields of `patch` replace the job's (a schedule change computes its next run afresh). A job that becomes a webhook gets its signing key in this answer, once.",
      params: { ...Named, patch: JobPatchSchema },
      result: JobSchema,
      mutates: true,
      audited: true,
      // A delivery that becomes a webhook makes a signing key shown in this answer only.
      returnsSecret: true,
      example: { id: EXAMPLE_JOB_ID, patch: { enabled: false } },
      handler: (tenant, p, ctx) => cron.update(tenant, jobIdOf(p), p.patch as CronJobPatch, ctx.op),
    }),
    defineTenantMethod({
      name: "cron.list",
      summary: "The caller's jobs (enabled ones unless includeDisabled), by next run, paged; `query` matches a part of the id, name or description.",
      params: ListQueryFields,
      result: JobPageSchema,
      mutates: false,
      example: { includeDisabled: true },
      handler: (tenant, p) => cron.list(tenant, p),
    }),
    defineTenantMethod({
      name: "cron.get",
      summary: "One job, with its state: next run, last run and its outcome, failures in a row, and why the gateway disabled it if it did.",
      params: Named,
      result: JobSchema,
      mutates: false,
      example: { id: EXAMPLE_JOB_ID },
      handler: (tenant, p) => cron.get(tenant, jobIdOf(p)),
    }),
    defineTenantMethod({
      name: "cron.run",
      summary: "Runs a job now (recorded like a scheduled run, trigger \"manual\"; skipped as an overlap while it runs); answers once the run is recorded as started.",
      params: Named,
      result: RunSchema,
      mutates: true,
      example: { id: EXAMPLE_JOB_ID },
      handler: (tenant, p, ctx) => cron.runNow(tenant, jobIdOf(p), ctx.op),
    }),
    defineTenantMethod({
      name: "cron.runs",
      summary: "Run history, newest first, paged: of one job (id) or of all the caller's jobs; each run with its trigger, outcome, error, output, usage and cost.",
      params: { ...Named, ...RunsQueryFields },
      result: RunPageSchema,
      mutates: false,
      example: { limit: 20 },
      handler: (tenant, p) => {
        const { id: _id, jobId: _jobId, ...q } = p;
        return cron.runs(tenant, { ...q, ...(p.id !== undefined || p.jobId !== undefined ? { id: jobIdOf(p) } : {}) });
      },
    }),
    defineTenantMethod({
      name: "cron.status",
      summary: "The caller's cron: whether it is on, its jobs (all and enabled), runs in progress, and when its next job is due.",
      params: {},
      result: StatusSchema,
      mutates: false,
      example: {},
      handler: (tenant) => cron.status(tenant),
    }),
    defineTenantMethod({
      name: "cron.remove",
      summary: "Removes a job (its run in progress, if any, finishes; its run history goes with it).",
      params: Named,
      result: T.Object({ removed: T.Literal(true), id: T.String() }),
      mutates: true,
      audited: true,
      example: { id: EXAMPLE_JOB_ID },
      handler: (tenant, p, ctx) => cron.remove(tenant, jobIdOf(p), ctx.op),
    }),
  ];
}
