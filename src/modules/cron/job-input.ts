// What a tenant may put in a job: every field checked, unknown fields refused by name, sizes capped
// (a job is a row in the shared state.db). The schedule is checked by schedule.ts, the webhook URL's
// host against the admin's allow-list here and its addresses again at delivery (delivery.ts).
import { AppError } from "../../core/errors.ts";
import { allowListRefusal } from "../../lib/egress-dial.ts";
import { checkSessionKey } from "../agents/sessions.service.ts";
import type { CronDelivery, CronJobInput, CronJobPatch, CronPayload } from "./cron.types.ts";
import { checkSchedule, onlyKeys } from "./schedule.ts";

export const MAX_MESSAGE_BYTES = 32 * 1024;
const AGENT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const INPUT_KEYS = ["name", "description", "enabled", "schedule", "payload", "delivery", "deleteAfterRun", "catchUp"] as const;

const bad = (field: string, message: string) => new AppError("INVALID_PARAMS", `${field}: ${message}`, { details: { field } });

function obj(v: unknown, field: string): Record<string, unknown> {
  if (!v || typeof v !== "object" || Array.isArray(v)) throw bad(field, "must be an object");
  return v as Record<string, unknown>;
}

function str(v: unknown, field: string, max: number, min = 1): string {
  if (typeof v !== "string" || v.length < min || v.length > max) throw bad(field, `must be a string of ${min} to ${max} characters`);
  if (/\u0000/.test(v)) throw bad(field, "must not contain NUL characters");
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== "boolean") throw bad(field, "must be true or false");
  return v;
}

function sessionKey(v: unknown, field: string): string {
  try {
    return checkSessionKey(v);
  } catch {
    throw bad(field, "must be 1-128 characters of a-z, 0-9, ':', '_' and '-'");
  }
}

export function checkPayload(raw: unknown): CronPayload {
  const o = obj(raw, "payload");
  if (o.kind === "agentTurn") {
    onlyKeys(o, "payload", ["kind", "message", "agentId", "sessionKey", "isolated"]);
    const message = str(o.message, "payload.message", MAX_MESSAGE_BYTES);
    if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES) throw bad("payload.message", `is longer than ${MAX_MESSAGE_BYTES} bytes`);
    const p: CronPayload = { kind: "agentTurn", message };
    if (o.agentId !== undefined) {
      if (typeof o.agentId !== "string" || !AGENT_ID.test(o.agentId)) throw bad("payload.agentId", "must be an agent id (a-z, 0-9, _ and -, at most 64)");
      p.agentId = o.agentId;
    }
    if (o.isolated !== undefined) p.isolated = bool(o.isolated, "payload.isolated");
    if (o.sessionKey !== undefined) {
      if (p.isolated) throw bad("payload.sessionKey", "an isolated run gets a fresh session of its own: give sessionKey or isolated, not both");
      p.sessionKey = sessionKey(o.sessionKey, "payload.sessionKey");
    }
    return p;
  }
  if (o.kind === "exec") {
    onlyKeys(o, "payload", ["kind", "command", "args", "timeoutSeconds"]);
    const p: CronPayload = { kind: "exec", command: str(o.command, "payload.command", 4096) };
    if (o.args !== undefined) {
      if (!Array.isArray(o.args) || o.args.length > 256) throw bad("payload.args", "must be an array of at most 256 strings");
      p.args = o.args.map((a, i) => str(a, `payload.args[${i}]`, 8192, 0));
    }
    if (o.timeoutSeconds !== undefined) {
      if (typeof o.timeoutSeconds !== "number" || !Number.isInteger(o.timeoutSeconds) || o.timeoutSeconds < 1 || o.timeoutSeconds > 86_400) throw bad("payload.timeoutSeconds", "must be a whole number of seconds, 1 to 86400 (the tenant's sandbox limit applies)");
      p.timeoutSeconds = o.timeoutSeconds;
    }
    return p;
  }
  throw bad("payload.kind", 'must be "agentTurn" or "exec"');
}

/** The delivery, checked; a webhook's host must be in gateway.cron.webhookAllow (its addresses are checked when it is called). */
export function checkDelivery(raw: unknown, webhookAllow: readonly string[]): CronDelivery {
  const o = obj(raw, "delivery");
  switch (o.mode) {
    case "none":
      onlyKeys(o, "delivery", ["mode"]);
      return { mode: "none" };
    case "session":
      onlyKeys(o, "delivery", ["mode", "sessionKey"]);
      return { mode: "session", sessionKey: sessionKey(o.sessionKey, "delivery.sessionKey") };
    case "webhook": {
      onlyKeys(o, "delivery", ["mode", "url"]);
      const url = webhookUrl(str(o.url, "delivery.url", 2048));
      const why = webhookRefusal(url, webhookAllow);
      if (why) throw bad("delivery.url", why);
      return { mode: "webhook", url: url.href };
    }
    case "channel": {
      // The channel is looked up under the job's tenant when the run is delivered (another tenant's
      // channel id is "not found" there, as one that does not exist).
      onlyKeys(o, "delivery", ["mode", "channel", "to"]);
      const channel = str(o.channel, "delivery.channel", 64);
      if (!/^[A-Za-z0-9_-]+$/.test(channel)) throw bad("delivery.channel", "must be a channel id (from channels.list)");
      if (o.to === undefined) throw bad("delivery.to", "is required: the chat (or user) id on the channel's platform to send the run's result to");
      return { mode: "channel", channel, to: str(o.to, "delivery.to", 200) };
    }
    default:
      throw bad("delivery.mode", 'must be "none", "session", "webhook" or "channel"');
  }
}

export function webhookUrl(s: string): URL {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw bad("delivery.url", "is not an absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw bad("delivery.url", `must be http or https, not ${url.protocol}`);
  if (url.username || url.password) throw bad("delivery.url", "must not carry credentials");
  return url;
}

/** Why the URL's host:port is not in the admin's webhook allow-list (checked before any DNS), or null. */
export function webhookRefusal(url: URL, webhookAllow: readonly string[]): string | null {
  return allowListRefusal(url, webhookAllow, "webhook allow-list (gateway.cron.webhookAllow)");
}

export interface CheckedInput {
  name?: string;
  description?: string | null;
  enabled?: boolean;
  schedule?: CronJobInput["schedule"];
  payload?: CronPayload;
  delivery?: CronDelivery;
  deleteAfterRun?: boolean;
  catchUp?: "once" | "skip";
}

/** A cron.add input or a cron.update patch, each present field checked. */
export function checkFields(raw: unknown, now: number, opts: { minIntervalMs: number; webhookAllow: readonly string[] }, field = ""): CheckedInput {
  const o = obj(raw, field || "job");
  onlyKeys(o, field, INPUT_KEYS);
  const out: CheckedInput = {};
  if (o.name !== undefined) out.name = str(o.name, "name", 200);
  if (o.description !== undefined) out.description = o.description === null ? null : str(o.description, "description", 2000, 0);
  if (o.enabled !== undefined) out.enabled = bool(o.enabled, "enabled");
  if (o.schedule !== undefined) out.schedule = checkSchedule(o.schedule, now, opts.minIntervalMs);
  if (o.payload !== undefined) out.payload = checkPayload(o.payload);
  if (o.delivery !== undefined) out.delivery = checkDelivery(o.delivery, opts.webhookAllow);
  if (o.deleteAfterRun !== undefined) out.deleteAfterRun = bool(o.deleteAfterRun, "deleteAfterRun");
  if (o.catchUp !== undefined) {
    if (o.catchUp !== "once" && o.catchUp !== "skip") throw bad("catchUp", 'must be "once" or "skip"');
    out.catchUp = o.catchUp;
  }
  return out;
}

export function checkAdd(raw: CronJobInput | unknown, now: number, opts: { minIntervalMs: number; webhookAllow: readonly string[] }): Required<Omit<CheckedInput, "description">> & { description: string | null } {
  const c = checkFields(raw, now, opts);
  if (c.name === undefined) throw bad("name", "is required");
  if (c.schedule === undefined) throw bad("schedule", "is required");
  if (c.payload === undefined) throw bad("payload", "is required");
  return { name: c.name, description: c.description ?? null, enabled: c.enabled ?? true, schedule: c.schedule, payload: c.payload, delivery: c.delivery ?? { mode: "none" }, deleteAfterRun: c.deleteAfterRun ?? c.schedule.kind === "at", catchUp: c.catchUp ?? "once" };
}

export type PatchInput = CronJobPatch;
