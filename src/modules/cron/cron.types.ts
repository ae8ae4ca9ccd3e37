// The cron module's shared shapes: what the scheduler core (cron.service.ts, scheduler.ts, runner.ts)
// offers the surfaces (cron.rpc.ts, cron.admin.ts, cron.cli.ts, the protocol-v4 cron methods).
// Job fields follow upstream OpenClaw's job format (reference: openclaw-surface.md §II.10) where it
// has one, so upstream's clients read our jobs unchanged.
import type { OpContext } from "../../edge/actor.ts";
import type { TenantIdentity, TenantScope } from "../../edge/tenant-scope.ts";

export type CronSchedule =
  /** Five or six fields (croner); `tz` an IANA zone, default "UTC". */
  | { kind: "cron"; expr: string; tz?: string }
  /** Every `everyMs` from `anchorMs` (default: the job's creation time). */
  | { kind: "every"; everyMs: number; anchorMs?: number }
  /** Once, at an ISO-8601 time with an offset; in the past is refused. */
  | { kind: "at"; at: string };

export type CronPayload =
  /** A run of the agent runtime; `isolated` runs in a fresh session `cron:<jobId>:<runId>`, else in `sessionKey` (default `cron:<jobId>`). */
  | { kind: "agentTurn"; message: string; agentId?: string; sessionKey?: string; isolated?: boolean }
  /** A command in the tenant's sandbox (same mode, limits and egress as RPC `exec`). */
  | { kind: "exec"; command: string; args?: string[]; timeoutSeconds?: number };

export type CronDelivery =
  | { mode: "none" }
  /** The result appended to a session of the tenant (as an assistant note), by session key. */
  | { mode: "session"; sessionKey: string }
  /** POST of the run record, signed `X-OpenClawMU-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`; the URL passes the egress policy. */
  | { mode: "webhook"; url: string }
  /** A chat of one of the tenant's channels (modules/channels): the run's result sent there. */
  | { mode: "channel"; channel: string; to?: string };

export type CronRunStatus = "running" | "ok" | "error" | "skipped";

export interface CronJobState {
  nextRunAtMs: number | null;
  runningAtMs: number | null;
  lastRunAtMs: number | null;
  lastRunStatus: Exclude<CronRunStatus, "running"> | null;
  lastError: string | null;
  lastDurationMs: number | null;
  consecutiveErrors: number;
  /** Set when the job was disabled by the gateway (N failures in a row), with the reason shown to the tenant. */
  disabledReason: string | null;
}

export interface CronJob {
  id: string;
  name: string;
  description?: string;
  enabled: boolean;
  schedule: CronSchedule;
  payload: CronPayload;
  delivery: CronDelivery;
  deleteAfterRun: boolean;
  /** A missed run (gateway down, tenant suspended) is run once within the grace window, or skipped. */
  catchUp: "once" | "skip";
  createdAtMs: number;
  updatedAtMs: number;
  state: CronJobState;
}

/** What `cron.add` takes: a job without id, timestamps or state; defaults filled by the service. */
export type CronJobInput = Omit<CronJob, "id" | "createdAtMs" | "updatedAtMs" | "state" | "enabled" | "delivery" | "deleteAfterRun" | "catchUp"> &
  Partial<Pick<CronJob, "enabled" | "delivery" | "deleteAfterRun" | "catchUp">>;

/** What `cron.update` takes: any of the input fields. */
export type CronJobPatch = Partial<CronJobInput>;

export interface CronRun {
  id: string;
  jobId: string;
  /** The scheduled time this run is for (the dedup key with jobId: a time fires at most once); for `cron.run` the request time. */
  scheduledAtMs: number;
  trigger: "schedule" | "catch-up" | "manual";
  status: CronRunStatus;
  startedAtMs: number;
  endedAtMs: number | null;
  durationMs: number | null;
  /** Why a run was skipped ("overlap", "tenant-suspended", "missed") or failed. */
  error: string | null;
  /** The agent run id or the sandbox run id, when the payload started one. */
  runRef: string | null;
  /** Output summary: the agent's answer or the command's stdout, cut at 4 KiB. */
  output: string | null;
  usage: { inputTokens: number; outputTokens: number; costMicroUsd: number };
  delivery: { status: "none" | "ok" | "error"; error?: string } | null;
}

export interface CronStatus {
  enabled: boolean;
  schedulerRunning: boolean;
  jobCount: number;
  enabledJobCount: number;
  runningCount: number;
  nextWakeAtMs: number | null;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

/** The service the surfaces call. Every method is scoped to one tenant; "not yours" is the same NOT_FOUND as "does not exist". */
export interface CronApi {
  add(identity: TenantScope & Partial<TenantIdentity>, input: CronJobInput, op: OpContext): CronJob;
  update(identity: TenantScope & Partial<TenantIdentity>, id: string, patch: CronJobPatch, op: OpContext): CronJob;
  remove(identity: TenantScope & Partial<TenantIdentity>, id: string, op: OpContext): { removed: true; id: string };
  list(tenant: TenantScope, q: { includeDisabled?: boolean; limit?: number; offset?: number; query?: string }): Page<CronJob>;
  get(tenant: TenantScope, id: string): CronJob;
  /** Runs now (recorded like a scheduled run, trigger "manual"); resolves once the run is recorded as started. */
  runNow(identity: TenantScope & Partial<TenantIdentity>, id: string, op: OpContext): Promise<CronRun>;
  runs(tenant: TenantScope, q: { id?: string; limit?: number; offset?: number; statuses?: CronRunStatus[] }): Page<CronRun>;
  status(tenant: TenantScope): CronStatus;
}
