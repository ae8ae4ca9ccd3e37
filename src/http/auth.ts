// Authentication at the edge: the admin key for /admin/v1, tenant tokens for /rpc and /v1. Every
// failure is the same 401; repeated failures from one client are throttled (429 + Retry-After);
// a tenant token presented to the control plane is a denied admin attempt and is audited.
import type { Core } from "../core/core.ts";
import { AppError } from "../core/errors.ts";
import { verifyAdminKey } from "../modules/admin-key/admin-key.service.ts";
import type { Actor } from "../modules/audit/audit.record.ts";
import { AuthThrottle } from "./throttle.ts";
import { unauthorized } from "./errors.ts";

export interface Caller {
  ip: string;
  requestId: string;
  method: string;
  path: string;
}

const TENANT_HINT = /^ocmu_([a-z0-9-]{1,32})_/;

export function bearer(request: Request): string | null {
  const h = request.headers.get("authorization");
  if (!h) return null;
  const m = /^bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : null;
}

export function createAuth(core: Core) {
  const throttle = new AuthThrottle(() => core.config.gateway.authThrottle, core.clock);
  const log = core.log.withTag("auth");

  function audit(entry: Parameters<Core["audit"]["record"]>[0]): void {
    try {
      core.audit.record(entry);
    } catch (err) {
      log.error("could not write an audit record for an authentication event", { action: entry.action, error: String(err) });
    }
  }

  function guard(caller: Caller, hint: string | undefined): void {
    const verdict = throttle.check(caller.ip, hint);
    if (verdict.blocked) {
      throw new AppError("RATE_LIMITED", "too many failed authentication attempts; retry later", {
        headers: { "retry-after": String(verdict.retryAfterSeconds) },
        details: { retryAfterSeconds: verdict.retryAfterSeconds },
      });
    }
  }

  function failed(caller: Caller, hint: string | undefined): never {
    const { tripped, blockSeconds } = throttle.fail(caller.ip, hint);
    if (tripped.length > 0) {
      log.warn("authentication failures tripped the throttle", { ip: caller.ip, tenant: hint, keys: tripped, blockSeconds });
      audit({
        actor: { kind: "system", id: "auth-throttle" },
        action: "auth.throttle",
        target: { type: "client", id: caller.ip },
        tenant: hint && hint !== "admin" ? hint : undefined,
        outcome: "denied",
        requestId: caller.requestId,
        src: { ip: caller.ip },
        details: { keys: tripped, blockSeconds, path: caller.path },
      });
    }
    throw unauthorized();
  }

  return {
    throttle,

    /** A tenant's denied attempt (naming another tenant) counts against its (IP, tenant) budget. */
    denials(caller: Caller, tenantId: string) {
      return {
        blocked: () => {
          const v = throttle.check(caller.ip, tenantId);
          return v.blocked ? { retryAfterSeconds: v.retryAfterSeconds } : null;
        },
        count: () => {
          try {
            failed(caller, tenantId);
          } catch {
            // failed() always throws the 401 for the auth path; here only the counting matters
          }
        },
      };
    },

    /** Control plane: the admin key, from the config hash or OPENCLAW_ADMIN_KEY. */
    admin(request: Request, caller: Caller): Actor {
      guard(caller, "admin");
      const presented = bearer(request);
      if (presented) {
        const check = verifyAdminKey(presented, core.adminDigests());
        if (check.ok) {
          throttle.succeed(caller.ip, "admin");
          return { kind: "admin", id: check.actorId! };
        }
        const asTenant = core.tokens.verify(presented);
        if (asTenant.ok) {
          audit({
            actor: { kind: "tenant", id: asTenant.actorId },
            action: "admin.access",
            target: { type: "route", id: `${caller.method} ${caller.path}`.slice(0, 200) },
            tenant: asTenant.tenantId,
            outcome: "denied",
            requestId: caller.requestId,
            src: { ip: caller.ip },
            details: { reason: "tenant token used on the control plane" },
          });
        }
      }
      return failed(caller, "admin");
    },

    /** Tenant surfaces: a tenant token of an active tenant. */
    tenant(request: Request, caller: Caller): { tenantId: string; actor: Actor } {
      const presented = bearer(request);
      const hint = presented ? TENANT_HINT.exec(presented)?.[1] : undefined;
      guard(caller, hint);
      if (presented) {
        const r = core.tokens.verify(presented);
        if (r.ok) {
          throttle.succeed(caller.ip, r.tenantId);
          return { tenantId: r.tenantId, actor: { kind: "tenant", id: r.actorId } };
        }
      }
      return failed(caller, hint);
    },
  };
}

export type Auth = ReturnType<typeof createAuth>;
