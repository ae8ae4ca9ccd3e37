// Starting a turn from a protocol-v4 method (`agent`, `chat.send`): through the runtime's runs.send,
// exactly as the RPC chat.send does — the same caps, idempotency, one run per session, quotas — with
// the connection's events for the run held until the method has answered (the ack comes first), and
// the session's creation (an audited change) taking one of the tenant's audited changes.
import { AppError } from "../../core/errors.ts";
import type { OpContext } from "../../edge/actor.ts";
import type { TenantIdentity } from "../../edge/tenant-scope.ts";
import type { ChangeBudget } from "../tenants/change-budget.ts";
import type { RunEnd } from "../agents/agent-loop.ts";
import { attachEvents, type RuntimeDeps } from "./events.ts";
import type { V4Context } from "./methods.ts";

export interface TurnDeps extends RuntimeDeps {
  /**
   * The tenant's one budget of audited changes (a session created, reset or deleted): the same as
   * /rpc's, at the configured gateway.limits.tenantChangesPerMinute / tenantChangesBurst.
   */
  changeBudget: Pick<ChangeBudget, "take" | "limits">;
}

/** Takes one of the tenant's audited changes, or refuses (RATE_LIMITED, with when to retry). */
export function takeChange(svc: TurnDeps, ctx: V4Context, method: string): void {
  const wait = svc.changeBudget.take(ctx.tenant.tenantId);
  if (wait !== null) {
    const limits = svc.changeBudget.limits();
    throw new AppError("RATE_LIMITED", `too many changes: ${method} was not run; a tenant may make ${limits.perMinute} audited changes a minute (gateway.limits.tenantChangesPerMinute); retry in ${wait} s`, { details: { retryAfterSeconds: wait, method } });
  }
}

/** Who acts, for the audit record: the connection's token holder. */
export function opOf(ctx: V4Context): OpContext {
  const actor = (ctx.tenant as Partial<TenantIdentity>).actor ?? { kind: "tenant" as const, id: ctx.tenant.tenantId };
  return { actor, requestId: `v4_${Bun.randomUUIDv7().replaceAll("-", "")}` };
}

export interface Started {
  runId: string;
  sessionId: string;
  agentId: string;
  deduped: boolean;
  /** The run's end, or null when it had already ended (a retried idempotency key). */
  done: Promise<RunEnd> | null;
  acceptedAt: number;
  /** Resolves once the run's held events have gone to the connection (after the method's answer). */
  released: Promise<void>;
}

export async function startTurn(svc: TurnDeps, ctx: V4Context, method: string, t: { sessionKey: string; agentId: string; message: string; idempotencyKey: string }): Promise<Started> {
  // A send that creates its session writes an audit record: only that one spends an audited change.
  if (!svc.sessions.find(ctx.tenant, t.sessionKey)) takeChange(svc, ctx, method);
  const events = attachEvents(svc, ctx);
  const acceptedAt = Date.now();
  const sent = svc.runs.send(ctx.tenant, t, opOf(ctx));
  if (!sent.deduped) events.begin({ runId: sent.runId, clientId: t.idempotencyKey, sessionKey: t.sessionKey, sessionId: sent.sessionId, agentId: t.agentId, message: t.message });
  // The run's events wait until the answer has gone (the connection sends it once this resolves).
  let released!: () => void;
  const done = new Promise<void>((r) => (released = r));
  const release = () =>
    setTimeout(() => {
      events.release(sent.runId);
      released();
    }, 0);
  try {
    await sent.durable; // the session and the run's row are on disk before the run id is told
  } finally {
    release();
  }
  return { runId: sent.runId, sessionId: sent.sessionId, agentId: t.agentId, deduped: sent.deduped, done: sent.done, acceptedAt, released: done };
}
