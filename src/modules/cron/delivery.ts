// Delivering a finished run: into a session of the tenant (an assistant note in its transcript), or
// POSTed to a webhook. A webhook is the gateway itself reaching out for a tenant, so it passes the
// same egress rules as a sandbox: the host:port must be in the admin's allow-list (checked again here:
// the list may have changed since cron.add), every address the name resolves to must be public
// (private, loopback, link-local, metadata and the host's own addresses refused unless the admin's
// sandbox.egress.allowPrivate names them), and the connection goes to the address that was checked —
// no second lookup, so a rebinding name cannot swap it. Redirects are not followed; 10 s at most.
import { createHmac, randomBytes } from "node:crypto";
import type { GatewayConfig } from "../../config/schema.ts";
import type { OpContext } from "../../edge/actor.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import { POST_TIMEOUT_MS, vettedPost } from "../../lib/vetted-post.ts";
import type { RunsService } from "../agents/runs.service.ts";
import type { SessionsService } from "../agents/sessions.service.ts";
import type { CronDelivery, CronJob, CronRun } from "./cron.types.ts";

export const WEBHOOK_TIMEOUT_MS = POST_TIMEOUT_MS;

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}

/** `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`, the X-OpenClawMU-Signature header. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export interface DeliveryDeps {
  config(): GatewayConfig;
  sessions: SessionsService;
  runs: RunsService;
  now(): number;
  /** The channels module: sends a text to a chat of one of the tenant's channels. */
  channels?: { deliver(tenant: TenantScope, channelId: string, to: string, text: string): Promise<void> };
  /** Name resolution (tests: a name that resolves to a private address). */
  lookup?(host: string): Promise<{ address: string; family: number }[]>;
}

export type DeliveryOutcome = { status: "none" | "ok" | "error"; error?: string };

export async function deliver(deps: DeliveryDeps, tenant: TenantScope, job: CronJob, run: CronRun, secret: string | null, ctx: OpContext): Promise<DeliveryOutcome> {
  const d: CronDelivery = job.delivery;
  try {
    if (d.mode === "none") return { status: "none" };
    if (d.mode === "session") return intoSession(deps, tenant, job, run, d.sessionKey, ctx);
    if (d.mode === "webhook") {
      if (!secret) return { status: "error", error: "the webhook has no signing secret" };
      return await postWebhook(deps, d.url, JSON.stringify({ jobId: job.id, jobName: job.name, run }), secret);
    }
    if (!deps.channels) return { status: "error", error: "channel delivery needs the channels module" };
    await deps.channels.deliver(tenant, d.channel, d.to ?? "", runText(job, run));
    return { status: "ok" };
  } catch (err) {
    return { status: "error", error: (err instanceof Error ? err.message : String(err)).slice(0, 500) };
  }
}

/** What a delivery says of a run: which job, how it ended, and its output. */
function runText(job: CronJob, run: CronRun): string {
  return `[cron job "${job.name}" (${job.id}), run ${run.id}: ${run.status}${run.error ? ` — ${run.error}` : ""}]${run.output ? `\n${run.output}` : ""}`;
}

function intoSession(deps: DeliveryDeps, tenant: TenantScope, job: CronJob, run: CronRun, key: string, ctx: OpContext): DeliveryOutcome {
  // A note in the middle of someone's turn would be read back as part of it: not while one runs.
  const busy = deps.runs.activeRun(tenant, key);
  if (busy) return { status: "error", error: `session "${key}" had a run in progress (${busy})` };
  const row = deps.sessions.find(tenant, key) ?? deps.sessions.ensure(tenant, key, "main", ctx);
  const text = runText(job, run);
  deps.sessions.append(tenant, row, { type: "assistant", ts: deps.now(), runId: run.id, text, cron: { jobId: job.id, runId: run.id, status: run.status } });
  return { status: "ok" };
}

export async function postWebhook(deps: DeliveryDeps, rawUrl: string, body: string, secret: string): Promise<DeliveryOutcome> {
  const c = deps.config();
  const timestamp = String(Math.floor(deps.now() / 1000));
  const r = await vettedPost({
    url: rawUrl,
    allow: c.gateway.cron.webhookAllow,
    allowName: "gateway.cron.webhookAllow",
    listName: "webhook allow-list (gateway.cron.webhookAllow)",
    allowPrivate: c.sandbox.egress?.allowPrivate,
    headers: { "x-openclawmu-timestamp": timestamp, "x-openclawmu-signature": signWebhook(secret, timestamp, body) },
    body,
    userAgent: "OpenClawMU-cron",
    lookup: deps.lookup,
  });
  if ("error" in r) return { status: "error", error: r.error.startsWith("the request failed") ? `the webhook ${r.error.slice(4)}` : r.error };
  if (r.status >= 200 && r.status < 300) return { status: "ok" };
  return { status: "error", error: `the webhook answered HTTP ${r.status}${r.status >= 300 && r.status < 400 ? " (redirects are not followed)" : ""}` };
}
