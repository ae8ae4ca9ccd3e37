// Starting a turn from a protocol-v4 method (`agent`, `chat.send`): through the runtime's runs.send,
// exactly as the RPC chat.send does — the same caps, idempotency, one run per session, quotas — with
// the connection's events for the run held until the method has answered (the ack comes first), and
// the session's creation (an audited change) taking one of the tenant's audited changes.
import type { OpContext } from "../../edge/actor.ts";
import type { TenantIdentity } from "../../edge/tenant-scope.ts";
import type { Admission } from "../admission/admission.service.ts";
import type { RunEnd } from "../agents/agent-loop.ts";
import { attachEvents, type RuntimeDeps } from "./events.ts";
import type { V4Context } from "./methods.ts";

export interface TurnDeps extends RuntimeDeps {
  /** The one admission of tenant requests, shared with the RPC transports (its change bucket, here). */
  admission: Admission;
}

/**
 * Takes one of the tenant's audited changes from the bucket every tenant surface shares
 * (gateway.limits.tenantChangesPerMinute / tenantChangesBurst), or refuses: RATE_LIMITED, with when to retry.
 */
export function takeChange(svc: TurnDeps, ctx: V4Context, method: string): void {
  svc.admission.spendChange(ctx.tenant.tenantId, method);
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
  // setImmediate, not setTimeout(0): it runs once the dispatcher has sent the answer (in the
  // microtasks that follow this method's return), without a timer's 1 ms clamp on every turn.
  const release = () =>
    setImmediate(() => {
      events.release(sent.runId);
      released();
    });
  try {
    await sent.durable; // the session and the run's row are on disk before the run id is told
  } finally {
    release();
  }
  return { runId: sent.runId, sessionId: sent.sessionId, agentId: t.agentId, deduped: sent.deduped, done: sent.done, acceptedAt, released: done };
}
