// A tenant can only ever act on itself. Methods that accept a tenantId call `selfOnly`: naming another
// tenant (existing or not) is NOT_FOUND — no existence oracle — and leaves a denied audit record.
import { AppError } from "../../core/errors.ts";
import { TENANT_ID_PATTERN } from "../../lib/ids.ts";
import type { OpContext } from "../tenants/tenants.service.ts";
import type { RpcContext } from "../../http/rpc/registry.ts";

export function selfOnly(ctx: RpcContext, named: string | undefined, action: string): string {
  if (named === undefined || named === ctx.tenantId) return ctx.tenantId;
  const shown = TENANT_ID_PATTERN.test(named) ? named : "(invalid id)";
  const blocked = ctx.denials?.blocked();
  if (blocked) {
    throw new AppError("RATE_LIMITED", "too many denied requests; retry later", {
      details: { retryAfterSeconds: blocked.retryAfterSeconds },
      headers: { "retry-after": String(blocked.retryAfterSeconds) },
    });
  }
  ctx.denials?.count();
  try {
    ctx.core.audit.record({
      actor: ctx.actor,
      action,
      target: { type: "tenant", id: shown },
      tenant: ctx.tenantId,
      outcome: "denied",
      requestId: ctx.requestId,
      clientRequestId: ctx.clientRequestId,
      src: { ip: ctx.ip },
      details: { reason: "cross-tenant" },
    });
  } catch (err) {
    ctx.core.log.withTag("rpc").error("could not record a denied cross-tenant attempt", { error: String(err) });
  }
  throw new AppError("NOT_FOUND", `tenant "${shown}" not found`);
}

export function opContext(ctx: RpcContext): OpContext {
  return { actor: ctx.actor, requestId: ctx.requestId, clientRequestId: ctx.clientRequestId, ip: ctx.ip };
}
