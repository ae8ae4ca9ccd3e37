// Our cron jobs and runs in upstream OpenClaw's shapes (its closed CronJobSchema and
// CronRunLogEntrySchema), and upstream's job params in ours. What maps:
//   schedule        at / every / cron            ⇄ the same (upstream's on-exit and stream are refused)
//   payload         agentTurn {message}          ⇄ agentTurn
//                   command {argv, timeoutSeconds} ⇄ exec {command, args, timeoutSeconds}
//                   systemEvent {text}           → agentTurn with `text`, in the agent's main session
//                                                  (there is no heartbeat here to wake; the turn runs)
//   sessionTarget   isolated                     ⇄ agentTurn.isolated
//                   main | current               ⇄ agentTurn in `agent:<agentId>:main`
//                   session:<key>                ⇄ agentTurn.sessionKey
//   delivery        none / webhook {to}          ⇄ none / webhook {url}; announce to the "last" channel
//                                                  (upstream CLI's default) → none; announce
//                                                  {channel, to} ⇄ channel {channel (an id from
//                                                  channels.list), to}
//                   session (ours)               → left out (upstream has no such mode)
// A webhook's signing secret, which cron.add returns once, reaches upstream's clients in the one
// place its closed result has for words about delivery: `deliveryPreview`.
import { V4Error } from "../methods.ts";
import type { CronDelivery, CronJob, CronJobInput, CronPayload, CronRun, CronSchedule } from "../../cron/cron.types.ts";

const DEFAULT_AGENT = "main";
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const defined = <T extends Obj>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;

export const mainSessionOf = (agentId: string | undefined) => `agent:${agentId ?? DEFAULT_AGENT}:main`;

function sessionTargetOf(p: CronPayload): string {
  // A job's own session (`cron:<jobId>`, the default) is what upstream calls isolated too.
  if (p.kind !== "agentTurn" || p.isolated || p.sessionKey === undefined) return "isolated";
  return p.sessionKey === mainSessionOf(p.agentId) ? "main" : `session:${p.sessionKey}`;
}

function payloadView(p: CronPayload): Obj {
  if (p.kind === "exec") return defined({ kind: "command", argv: [p.command, ...(p.args ?? [])], timeoutSeconds: p.timeoutSeconds });
  return { kind: "agentTurn", message: p.message };
}

function deliveryView(d: CronDelivery): Obj | undefined {
  if (d.mode === "none") return { mode: "none" };
  if (d.mode === "webhook") return { mode: "webhook", to: d.url };
  if (d.mode === "channel") return defined({ mode: "announce", channel: d.channel, to: d.to });
  return undefined;
}

/** A job as upstream's CronJobSchema has it (closed: nothing it does not know). */
export function jobView(j: CronJob): Obj {
  const s = j.state;
  const state = defined({
    nextRunAtMs: j.enabled ? s.nextRunAtMs : null,
    runningAtMs: s.runningAtMs,
    lastRunAtMs: s.lastRunAtMs,
    lastRunStatus: s.lastRunStatus,
    lastError: s.lastError,
    lastDurationMs: s.lastDurationMs === null ? null : Math.max(0, Math.round(s.lastDurationMs)),
    consecutiveErrors: s.consecutiveErrors,
    ...(s.disabledReason && !j.enabled ? { autoDisabled: { reason: "consecutive-failures", atMs: j.updatedAtMs, consecutiveErrors: Math.max(1, s.consecutiveErrors) } } : {}),
  });
  return defined({
    id: j.id,
    agentId: j.payload.kind === "agentTurn" ? (j.payload.agentId ?? DEFAULT_AGENT) : undefined,
    name: j.name,
    description: j.description,
    enabled: j.enabled,
    deleteAfterRun: j.deleteAfterRun,
    createdAtMs: j.createdAtMs,
    updatedAtMs: j.updatedAtMs,
    schedule: scheduleView(j.schedule),
    sessionTarget: sessionTargetOf(j.payload),
    wakeMode: "now",
    payload: payloadView(j.payload),
    delivery: deliveryView(j.delivery),
    state,
    nextRunAtMs: state.nextRunAtMs,
    lastRunAtMs: state.lastRunAtMs,
    lastRunStatus: state.lastRunStatus,
    lastRunError: state.lastError,
  });
}

function scheduleView(s: CronSchedule): Obj {
  if (s.kind === "cron") return defined({ kind: "cron", expr: s.expr, tz: s.tz });
  if (s.kind === "every") return defined({ kind: "every", everyMs: s.everyMs, anchorMs: s.anchorMs });
  return { kind: "at", at: s.at };
}

/** A finished run as an entry of upstream's run history (CronRunLogEntrySchema). */
export function runView(r: CronRun, jobName?: string): Obj {
  const delivered = r.delivery?.status === "ok" ? "delivered" : r.delivery?.status === "error" ? "not-delivered" : "not-requested";
  return defined({
    ts: r.endedAtMs ?? r.startedAtMs,
    jobId: r.jobId,
    action: "finished",
    status: r.status === "running" ? undefined : r.status,
    error: r.error,
    summary: r.output,
    runId: r.id,
    runAtMs: r.startedAtMs,
    durationMs: r.durationMs === null ? null : Math.max(0, Math.round(r.durationMs)),
    deliveryStatus: delivered,
    deliveryError: r.delivery?.error,
    usage: { input_tokens: r.usage.inputTokens, output_tokens: r.usage.outputTokens, total_tokens: r.usage.inputTokens + r.usage.outputTokens },
    jobName,
  });
}

/** Refuses a request naming the field, as upstream words its cron refusals. */
export const invalid = (method: string, why: string): never => {
  throw new V4Error("INVALID_REQUEST", `invalid ${method} params: ${why}`);
};

function scheduleFrom(method: string, raw: unknown): CronSchedule {
  if (!isObj(raw)) return invalid(method, "schedule must be an object");
  if (raw.kind === "cron") return defined({ kind: "cron", expr: raw.expr, tz: raw.tz }) as CronSchedule;
  if (raw.kind === "every") return defined({ kind: "every", everyMs: raw.everyMs, anchorMs: raw.anchorMs }) as CronSchedule;
  if (raw.kind === "at") return { kind: "at", at: raw.at } as CronSchedule;
  return invalid(method, `schedule.kind must be "at", "every" or "cron" here (got ${JSON.stringify(String(raw.kind)).slice(0, 40)})`);
}

/** The target's session (undefined: the payload's own default). */
function targetSession(method: string, target: unknown, agentId: string | undefined, sessionKey: unknown): { sessionKey?: string; isolated?: boolean } {
  if (target === undefined || target === null) return {};
  if (target === "isolated") return { isolated: true };
  if (target === "main") return { sessionKey: mainSessionOf(agentId) };
  if (target === "current") return { sessionKey: typeof sessionKey === "string" && sessionKey ? sessionKey : mainSessionOf(agentId) };
  if (typeof target === "string" && target.startsWith("session:") && target.length > 8) return { sessionKey: target.slice(8) };
  return invalid(method, 'sessionTarget must be "main", "isolated", "current" or "session:<key>"');
}

/** Our payload from upstream's payload, job-level agentId/sessionKey and sessionTarget. */
function payloadFrom(method: string, raw: unknown, job: { agentId?: unknown; sessionKey?: unknown; sessionTarget?: unknown }): CronPayload {
  if (!isObj(raw)) return invalid(method, "payload must be an object");
  const agentId = typeof job.agentId === "string" && job.agentId ? job.agentId : undefined;
  const timeoutSeconds = typeof raw.timeoutSeconds === "number" && raw.timeoutSeconds > 0 ? Math.ceil(raw.timeoutSeconds) : undefined;
  if (raw.kind === "command") {
    const argv = raw.argv;
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === "string")) return invalid(method, "payload.argv must be a non-empty array of strings");
    return defined({ kind: "exec", command: argv[0] as string, args: argv.slice(1) as string[], timeoutSeconds }) as CronPayload;
  }
  if (raw.kind === "agentTurn" || raw.kind === "systemEvent") {
    const message = raw.kind === "agentTurn" ? raw.message : raw.text;
    const target = raw.kind === "systemEvent" && job.sessionTarget === undefined ? "main" : job.sessionTarget;
    return defined({ kind: "agentTurn", message, agentId, ...targetSession(method, target, agentId, job.sessionKey) }) as CronPayload;
  }
  return invalid(method, `payload.kind must be "agentTurn", "systemEvent" or "command" here (got ${JSON.stringify(String(raw.kind)).slice(0, 40)})`);
}

function deliveryFrom(method: string, raw: unknown): CronDelivery | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObj(raw)) return invalid(method, "delivery must be an object");
  if (raw.mode === "none") return { mode: "none" };
  if (raw.mode === "webhook") return { mode: "webhook", url: raw.to } as CronDelivery;
  // Upstream's CLI asks every isolated job to announce to the "last" channel the user spoke on, best
  // effort; the gateway keeps no "last" channel, so there is nothing to announce to. A channel named
  // outright is one of the tenant's channels (its id) and `to` the chat: checked by the service.
  if (raw.mode === "announce") return raw.channel === undefined || raw.channel === "last" ? { mode: "none" } : (defined({ mode: "channel", channel: raw.channel, to: raw.to }) as CronDelivery);
  return invalid(method, 'delivery.mode must be "none", "announce" or "webhook"');
}

/** cron.add's params (upstream's job without id) as our job input; the service checks the rest. */
export function inputFrom(raw: Obj): CronJobInput {
  const m = "cron.add";
  if (typeof raw.name !== "string" || raw.name.trim() === "") return invalid(m, "name is required");
  const delivery = deliveryFrom(m, raw.delivery);
  return defined({
    name: raw.name,
    description: typeof raw.description === "string" ? raw.description : undefined,
    enabled: typeof raw.enabled === "boolean" ? raw.enabled : undefined,
    deleteAfterRun: typeof raw.deleteAfterRun === "boolean" ? raw.deleteAfterRun : undefined,
    schedule: scheduleFrom(m, raw.schedule),
    payload: payloadFrom(m, raw.payload, raw),
    delivery,
  }) as CronJobInput;
}

/**
 * cron.update's patch as ours. Upstream patches a payload field by field (its kind kept); ours
 * replaces the payload whole, so a partial one is laid over the job's current one.
 */
export function patchFrom(raw: unknown, current: CronJob): Partial<CronJobInput> {
  const m = "cron.update";
  if (!isObj(raw)) return invalid(m, "patch must be an object");
  const out: Partial<CronJobInput> = {};
  if (raw.name !== undefined) out.name = typeof raw.name === "string" && raw.name.trim() ? raw.name : invalid(m, "patch.name must be a non-empty string");
  if (raw.description !== undefined) out.description = typeof raw.description === "string" ? raw.description : invalid(m, "patch.description must be a string");
  if (raw.enabled !== undefined) out.enabled = typeof raw.enabled === "boolean" ? raw.enabled : invalid(m, "patch.enabled must be a boolean");
  if (raw.deleteAfterRun !== undefined) out.deleteAfterRun = typeof raw.deleteAfterRun === "boolean" ? raw.deleteAfterRun : invalid(m, "patch.deleteAfterRun must be a boolean");
  if (raw.schedule !== undefined) out.schedule = scheduleFrom(m, raw.schedule);
  if (raw.payload !== undefined || raw.sessionTarget !== undefined || raw.agentId !== undefined || raw.sessionKey !== undefined) {
    const view = jobView(current);
    const payload = isObj(raw.payload) ? { ...(raw.payload.kind === undefined || raw.payload.kind === (view.payload as Obj).kind ? (view.payload as Obj) : {}), ...raw.payload } : view.payload;
    out.payload = payloadFrom(m, payload, { agentId: raw.agentId ?? view.agentId, sessionKey: raw.sessionKey, sessionTarget: raw.sessionTarget ?? view.sessionTarget });
  }
  if (raw.delivery !== undefined) out.delivery = deliveryFrom(m, isObj(raw.delivery) && raw.delivery.mode === undefined ? { ...deliveryView(current.delivery), ...raw.delivery } : raw.delivery);
  return out;
}
