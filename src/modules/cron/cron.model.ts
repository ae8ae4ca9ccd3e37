// The wire shapes of the cron surfaces (RPC, admin API): what a job, a patch, a run and a page look
// like, as TypeBox schemas both transports validate with. The shapes are flat per part — `schedule`
// is one object whose `kind` says which of its fields apply — so a refusal names the field at fault
// ("params.schedule.kind must be one of "cron", "every", "at"", "params.payload.comand is not a known
// key") instead of TypeBox's "expected union value". Which fields a kind needs, and what they may
// hold (an expression croner reads, a time zone, an interval above the operator's minimum), is the
// service's check: the same for every surface.
import { Type as T } from "@sinclair/typebox";
import { formatDuration } from "../../lib/duration.ts";

const strict = { additionalProperties: false } as const;

/** A job's id as the service makes it; any other string is the same NOT_FOUND as an unknown id. */
export const JobId = T.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$", description: "the job's id (from cron.add or cron.list)" });

/**
 * The id the methods' examples name (the OpenRPC document, the generated test suites): the suites
 * make a job and put its id in place of this one.
 */
export const EXAMPLE_JOB_ID = "cron_example";

export const ScheduleSchema = T.Object(
  {
    kind: T.Union([T.Literal("cron"), T.Literal("every"), T.Literal("at")]),
    expr: T.Optional(T.String({ minLength: 1, maxLength: 200, description: 'kind "cron": five or six fields (seconds first when six)' })),
    tz: T.Optional(T.String({ minLength: 1, maxLength: 64, description: 'kind "cron": an IANA time zone (default "UTC")' })),
    everyMs: T.Optional(T.Integer({ minimum: 1, description: 'kind "every": the interval in milliseconds (at least gateway.cron.minIntervalSeconds)' })),
    anchorMs: T.Optional(T.Integer({ minimum: 0, description: 'kind "every": the time the intervals count from (default: the job\'s creation)' })),
    at: T.Optional(T.String({ minLength: 1, maxLength: 64, description: 'kind "at": an ISO-8601 time with an offset, in the future' })),
  },
  { ...strict, description: "when the job runs" },
);

export const PayloadSchema = T.Object(
  {
    kind: T.Union([T.Literal("agentTurn"), T.Literal("exec")]),
    message: T.Optional(T.String({ minLength: 1, maxLength: 32_768, description: 'kind "agentTurn": what the agent is told' })),
    agentId: T.Optional(T.String({ pattern: "^[a-z0-9][a-z0-9_-]{0,63}$", description: 'kind "agentTurn": the agent (default "main")' })),
    sessionKey: T.Optional(T.String({ pattern: "^[a-z0-9:_-]{1,128}$", description: 'kind "agentTurn": the session the turn runs in (default "cron:<jobId>")' })),
    isolated: T.Optional(T.Boolean({ description: 'kind "agentTurn": each run in a fresh session of its own' })),
    command: T.Optional(T.String({ minLength: 1, maxLength: 4096, description: 'kind "exec": the program to run in the tenant\'s sandbox' })),
    args: T.Optional(T.Array(T.String({ maxLength: 8192 }), { maxItems: 256 })),
    timeoutSeconds: T.Optional(T.Integer({ minimum: 1, maximum: 86_400, description: 'kind "exec": at most the tenant\'s sandbox limit' })),
  },
  { ...strict, description: "what the job does: a turn of an agent, or a command in the sandbox" },
);

export const DeliverySchema = T.Object(
  {
    mode: T.Union([T.Literal("none"), T.Literal("session"), T.Literal("webhook"), T.Literal("channel")]),
    sessionKey: T.Optional(T.String({ pattern: "^[a-z0-9:_-]{1,128}$", description: 'mode "session": the session the result is appended to' })),
    url: T.Optional(T.String({ minLength: 1, maxLength: 2048, description: 'mode "webhook": an https or http URL the operator\'s egress rules allow' })),
    channel: T.Optional(T.String({ minLength: 1, maxLength: 64 })),
    to: T.Optional(T.String({ minLength: 1, maxLength: 256 })),
  },
  { ...strict, description: "where the result goes (a webhook's signing key is returned once, by cron.add)" },
);

/** The fields of a job a caller sets (cron.add; any of them in cron.update's patch). */
const inputFields = {
  name: T.String({ minLength: 1, maxLength: 200 }),
  description: T.Optional(T.String({ maxLength: 2000 })),
  enabled: T.Optional(T.Boolean()),
  schedule: ScheduleSchema,
  payload: PayloadSchema,
  delivery: T.Optional(DeliverySchema),
  deleteAfterRun: T.Optional(T.Boolean({ description: "remove the job after its first run (a one-shot job)" })),
  catchUp: T.Optional(T.Union([T.Literal("once"), T.Literal("skip")])),
};

/** cron.add's params (besides tenantId), and the admin API's body. */
export const JobInputFields = inputFields;
export const JobInputSchema = T.Object(inputFields, strict);

export const JobPatchSchema = T.Object(
  {
    name: T.Optional(inputFields.name),
    description: T.Optional(T.String({ maxLength: 2000 })),
    enabled: T.Optional(T.Boolean()),
    schedule: T.Optional(ScheduleSchema),
    payload: T.Optional(PayloadSchema),
    delivery: T.Optional(DeliverySchema),
    deleteAfterRun: T.Optional(T.Boolean()),
    catchUp: T.Optional(T.Union([T.Literal("once"), T.Literal("skip")])),
  },
  { ...strict, minProperties: 1, description: "the fields to change (a part given replaces that part whole)" },
);

const Nullable = <S extends ReturnType<typeof T.Number>>(s: S) => T.Union([s, T.Null()]);

export const JobSchema = T.Object({
  id: T.String(),
  name: T.String(),
  description: T.Optional(T.String()),
  enabled: T.Boolean(),
  schedule: T.Record(T.String(), T.Unknown()),
  payload: T.Record(T.String(), T.Unknown()),
  delivery: T.Record(T.String(), T.Unknown()),
  deleteAfterRun: T.Boolean(),
  catchUp: T.Union([T.Literal("once"), T.Literal("skip")]),
  createdAtMs: T.Integer(),
  updatedAtMs: T.Integer(),
  state: T.Object({
    nextRunAtMs: Nullable(T.Number()),
    runningAtMs: Nullable(T.Number()),
    lastRunAtMs: Nullable(T.Number()),
    lastRunStatus: T.Union([T.Union([T.Literal("ok"), T.Literal("error"), T.Literal("skipped")]), T.Null()]),
    lastError: T.Union([T.String(), T.Null()]),
    lastDurationMs: Nullable(T.Number()),
    consecutiveErrors: T.Integer(),
    disabledReason: T.Optional(T.Union([T.String(), T.Null()], { description: "why the gateway disabled the job (failures in a row)" })),
  }),
});

export const RunStatuses = ["running", "ok", "error", "skipped"] as const;
const RunStatusSchema = T.Union([T.Literal("running"), T.Literal("ok"), T.Literal("error"), T.Literal("skipped")]);

export const RunSchema = T.Object({
  id: T.String(),
  jobId: T.String(),
  scheduledAtMs: T.Integer(),
  trigger: T.Union([T.Literal("schedule"), T.Literal("catch-up"), T.Literal("manual")]),
  status: RunStatusSchema,
  startedAtMs: T.Integer(),
  endedAtMs: Nullable(T.Number()),
  durationMs: Nullable(T.Number()),
  error: T.Union([T.String(), T.Null()]),
  runRef: T.Union([T.String(), T.Null()]),
  output: T.Union([T.String(), T.Null()]),
  usage: T.Object({ inputTokens: T.Integer(), outputTokens: T.Integer(), costMicroUsd: T.Integer() }),
  delivery: T.Union([T.Record(T.String(), T.Unknown()), T.Null()]),
});

export const StatusSchema = T.Object({
  enabled: T.Boolean(),
  schedulerRunning: T.Boolean(),
  jobCount: T.Integer(),
  enabledJobCount: T.Integer(),
  runningCount: T.Integer(),
  nextWakeAtMs: Nullable(T.Number()),
});

const page = <S extends ReturnType<typeof T.Object>>(item: S) => T.Object({ items: T.Array(item), total: T.Integer(), limit: T.Integer(), offset: T.Integer() });
export const JobPageSchema = page(JobSchema);
export const RunPageSchema = page(RunSchema);

/** Paging of lists: at most 200 a page (as upstream's cron.list and cron.runs). */
export const MAX_PAGE = 200;
export const ListQueryFields = {
  includeDisabled: T.Optional(T.Boolean({ description: "also the disabled jobs (default: enabled ones only)" })),
  limit: T.Optional(T.Integer({ minimum: 1, maximum: MAX_PAGE })),
  offset: T.Optional(T.Integer({ minimum: 0 })),
  query: T.Optional(T.String({ maxLength: 200, description: "a part of the job's id, name or description" })),
};
export const RunsQueryFields = {
  limit: T.Optional(T.Integer({ minimum: 1, maximum: MAX_PAGE })),
  offset: T.Optional(T.Integer({ minimum: 0 })),
  statuses: T.Optional(T.Array(RunStatusSchema, { maxItems: 4 })),
};

/** The schedule in words, for people (the CLI's list). */
export function describeSchedule(s: { kind: string; expr?: string; tz?: string; everyMs?: number; at?: string }): string {
  if (s.kind === "cron") return `cron "${s.expr}"${s.tz ? ` ${s.tz}` : ""}`;
  if (s.kind === "every") return `every ${formatDuration(s.everyMs ?? 0)}`;
  return `at ${s.at}`;
}
