// Authentication at the edge: the admin key for /admin/v1, tenant tokens for /rpc and /v1. Every
// failure is the same 401; a credential is always verified first, and one that verifies is served
// (the throttle answers only failing ones, 429 + Retry-After, per source — an address, or an IPv6
// /64 — and presented identity); a tenant token presented to the control plane is a denied admin
// attempt and is audited. Authentication is where a TenantScope is minted: for the tenant a verified
// token belongs to (its identity, http/tenant-identity.ts), and — through the admin's context — for
// a tenant the admin names (after checking it exists).
import type { Core } from "../app/core.ts";
import { AppError, notFound } from "../core/errors.ts";
import type { Actor, OpContext } from "../edge/actor.ts";
import { mintTenantScope, type AdminContext, type TenantIdentity, type TenantScope } from "../edge/tenant-scope.ts";
import { TENANT_ID_PATTERN } from "../lib/ids.ts";
import { verifyAdminKey } from "../modules/admin-key/admin-key.service.ts";
import { unauthorized } from "./errors.ts";
import { bindTenantIdentity } from "./tenant-identity.ts";
import { AuthThrottle } from "./throttle.ts";

export interface Caller {
  ip: string;
  requestId: string;
  clientRequestId?: string;
  method: string;
  path: string;
}

const TENANT_HINT = /^ocmu_([a-z0-9-]{1,32})_/;
/** The identity of a request that presents no credential, or one that names nobody. */
const NOBODY = "-";

/**
 * Anthropic's clients send their key as `x-api-key` (Claude Code's ANTHROPIC_API_KEY), or as a bearer
 * token (ANTHROPIC_AUTH_TOKEN). Either is accepted on the Anthropic surface; both at once must agree,
 * else neither is used (no guessing which one the client meant).
 */
export function apiKeyOrBearer(request: Request): string | null {
  const b = bearer(request);
  const k = request.headers.get("x-api-key")?.trim() || null;
  if (b && k) return b === k ? b : null;
  return b ?? (k && /^\S+$/.test(k) ? k : null);
}

export function bearer(request: Request): string | null {
  const h = request.headers.get("authorization");
  if (!h) return null;
  const m = /^bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : null;
}

/** The subprotocol a WebSocket client offers (and the gateway answers) for this API. */
export const WS_PROTOCOL = "openclaw.v1";
const WS_BEARER_PREFIX = "bearer.";

/** The protocols a WebSocket handshake offers, in order (Sec-WebSocket-Protocol, comma-separated). */
export function offeredProtocols(request: Request): string[] {
  const h = request.headers.get("sec-websocket-protocol");
  return h ? h.split(",").map((p) => p.trim()).filter(Boolean) : [];
}

/**
 * A browser cannot set headers on a WebSocket handshake, so it may carry its token as an offered
 * subprotocol `bearer.<token>` (next to `openclaw.v1`, the one the gateway answers with — a token is
 * never echoed). Null unless exactly one such entry is offered.
 */
export function subprotocolBearer(request: Request): string | null {
  const found = offeredProtocols(request).filter((p) => p.startsWith(WS_BEARER_PREFIX));
  return found.length === 1 && found[0]!.length > WS_BEARER_PREFIX.length ? found[0]!.slice(WS_BEARER_PREFIX.length) : null;
}

export function createAuth(core: Core) {
  /** The admin path naming a tenant: its scope once it is known to exist (else NOT_FOUND, like any unknown one). */
  const adminContext = (actor: Actor, caller: Caller): AdminContext => ({
    actor,
    requestId: caller.requestId,
    clientRequestId: caller.clientRequestId,
    ip: caller.ip,
    tenant(id: string) {
      if (!core.tenants.exists(id)) throw notFound(`tenant "${id}"`);
      return mintTenantScope(id);
    },
  });
  const throttle = new AuthThrottle(() => core.config.gateway.authThrottle, core.clock);
  const log = core.log.withTag("auth");

  function audit(entry: Parameters<Core["audit"]["record"]>[0]): void {
    try {
      core.audit.record(entry);
    } catch (err) {
      log.error("could not write an audit record for an authentication event", { action: entry.action, error: String(err) });
    }
  }

  /**
   * A failed attempt by `identity` from the caller's address. Blocked: 429, nothing counted or
   * recorded. Otherwise counted; a trip is logged and — at most once per source per window —
   * audited; then the one 401. `verified` says whether `identity` is an authenticated tenant (a
   * denied cross-tenant call) or only what an unauthenticated request claimed, never its `tenant`.
   */
  function failed(caller: Caller, identity: string, verified: boolean): never {
    const verdict = throttle.check(caller.ip, identity);
    if (verdict.blocked) {
      throw new AppError("RATE_LIMITED", verified ? "too many denied requests; retry later" : "too many failed authentication attempts; retry later", {
        headers: { "retry-after": String(verdict.retryAfterSeconds) },
        details: { retryAfterSeconds: verdict.retryAfterSeconds },
      });
    }
    const trip = throttle.fail(caller.ip, identity);
    if (trip.summary) {
      audit({
        actor: { kind: "system", id: "auth-throttle" },
        action: "auth.throttle.summary",
        target: { type: "client", id: "*" },
        outcome: "denied",
        requestId: caller.requestId,
        details: {
          unauditedTrips: trip.summary.unauditedTrips,
          sources: trip.summary.sources,
          windowStart: new Date(trip.summary.windowStart).toISOString(),
          windowEnd: new Date(trip.summary.windowEnd).toISOString(),
          note: "throttle trips past gateway.authThrottle.maxAuditRecordsPerWindow in that window, each logged but not audited",
        },
      });
    }
    if (trip.tripped.length > 0) {
      log.warn("authentication failures tripped the throttle", { ip: caller.ip, source: trip.source, [verified ? "tenant" : "claimed"]: identity, keys: trip.tripped, blockSeconds: trip.blockSeconds, audited: trip.audit });
      if (trip.audit) {
        audit({
          actor: { kind: "system", id: "auth-throttle" },
          action: "auth.throttle",
          target: { type: "client", id: trip.source },
          tenant: verified ? identity : undefined,
          outcome: "denied",
          requestId: caller.requestId,
          clientRequestId: caller.clientRequestId,
          src: { ip: caller.ip },
          details: { keys: trip.tripped, blockSeconds: trip.blockSeconds, path: caller.path, ...(verified ? {} : { claimed: identity }), ...(trip.unaudited ? { unauditedTrips: trip.unaudited } : {}) },
        });
      }
    }
    throw unauthorized();
  }

  return {
    throttle,

    /** A tenant's denied attempt (naming another tenant) counts against its (address, tenant) budget. */
    denials(caller: Caller, tenantId: string) {
      return {
        blocked: () => {
          const v = throttle.check(caller.ip, tenantId);
          return v.blocked ? { retryAfterSeconds: v.retryAfterSeconds } : null;
        },
        count: () => {
          try {
            failed(caller, tenantId, true);
          } catch {
            // only the counting matters here; the caller answers NOT_FOUND itself
          }
        },
      };
    },

    /**
     * A tenant's call that named another tenant (the RPC methods' `tenantId`): NOT_FOUND — the answer
     * for a tenant that does not exist, so no existence oracle — a denied audit record, and a failure
     * counted against the caller's (address, tenant) budget, throttled like failed authentication.
     */
    refuseOther(caller: Caller, op: OpContext, tenant: TenantScope): (named: string, action: string) => never {
      const denials = this.denials(caller, tenant.tenantId);
      return (named, action) => {
        const shown = TENANT_ID_PATTERN.test(named) ? named : "(invalid id)";
        const blocked = denials.blocked();
        if (blocked) {
          throw new AppError("RATE_LIMITED", "too many denied requests; retry later", {
            details: { retryAfterSeconds: blocked.retryAfterSeconds },
            headers: { "retry-after": String(blocked.retryAfterSeconds) },
          });
        }
        denials.count();
        try {
          core.audit.record({
            actor: op.actor,
            action,
            target: { type: "tenant", id: shown },
            tenant: tenant.tenantId,
            outcome: "denied",
            requestId: op.requestId,
            clientRequestId: op.clientRequestId,
            src: { ip: op.ip },
            details: { reason: "cross-tenant" },
          });
        } catch (err) {
          core.log.withTag("rpc").error("could not record a denied cross-tenant attempt", { error: String(err) });
        }
        throw new AppError("NOT_FOUND", `tenant "${shown}" not found`);
      };
    },

    /** Control plane: the admin key, from the config hash or OPENCLAW_ADMIN_KEY. The admin may name any tenant. */
    admin(request: Request, caller: Caller): AdminContext {
      return this.adminKey(bearer(request), caller);
    },

    /** The admin, authenticated by a console session bound to the admin key `actorId` (http/console-auth.ts). */
    adminAs(actorId: string, caller: Caller): AdminContext {
      throttle.succeed(caller.ip, "admin");
      return adminContext({ kind: "admin", id: actorId }, caller);
    },

    /** The admin key however it was presented (a bearer header, the console's sign-in body), or the one 401. */
    adminKey(presented: string | null, caller: Caller): AdminContext {
      if (presented) {
        const check = verifyAdminKey(presented, core.adminDigests());
        if (check.ok) {
          throttle.succeed(caller.ip, "admin");
          return adminContext({ kind: "admin", id: check.actorId! }, caller);
        }
        const asTenant = core.tokens.verify(presented);
        if (asTenant.ok) return this.tenantOnAdmin({ tenantId: asTenant.tenantId, actorId: asTenant.actorId }, caller, "tenant token used on the control plane");
      }
      return failed(caller, "admin", false);
    },

    /**
     * A tenant's credential (its token, or a console session signed in with it) presented to the
     * control plane: audited as a denied `admin.access` (unless the caller is throttled), then the one 401.
     */
    tenantOnAdmin(who: { tenantId: string; actorId: string }, caller: Caller, reason: string): never {
      if (!throttle.check(caller.ip, "admin").blocked) {
        audit({
          actor: { kind: "tenant", id: who.actorId },
          action: "admin.access",
          target: { type: "route", id: `${caller.method} ${caller.path}`.slice(0, 200) },
          tenant: who.tenantId,
          outcome: "denied",
          requestId: caller.requestId,
          clientRequestId: caller.clientRequestId,
          src: { ip: caller.ip },
          details: { reason },
        });
      }
      return failed(caller, "admin", false);
    },

    /**
     * Tenant surfaces: a tenant token of an active tenant; the identity of the tenant it belongs to,
     * bound to the tenant's incarnation and to that token for the rest of the request
     * (`tenant.assertCurrent()` before each long step).
     */
    tenant(request: Request, caller: Caller, opts: { websocket?: boolean; apiKeyHeader?: boolean } = {}): { tenant: TenantIdentity; actor: Actor } {
      // A WebSocket handshake may carry the token as a subprotocol (browsers cannot send headers),
      // never in the URL: URLs end up in logs, proxies and browser history. A handshake with any
      // query string is the same failure as a wrong token, whatever else it presents.
      const inUrl = opts.websocket === true && new URL(request.url).search !== "";
      return this.token(inUrl ? null : opts.apiKeyHeader ? apiKeyOrBearer(request) : (bearer(request) ?? (opts.websocket ? subprotocolBearer(request) : null)), caller);
    },

    /**
     * A tenant token however it was presented (a header, or a protocol frame such as the upstream
     * protocol's `connect`): the identity of its tenant, or the failure every tenant surface answers —
     * counted by the throttle, then UNAUTHORIZED (RATE_LIMITED while the source is blocked).
     */
    token(presented: string | null, caller: Caller): { tenant: TenantIdentity; actor: Actor } {
      if (presented) {
        const tenant = bindTenantIdentity({ tokens: core.tokens, incarnation: core.tenants.incarnation }, presented);
        if (tenant) {
          throttle.succeed(caller.ip, tenant.tenantId);
          return { tenant, actor: tenant.actor };
        }
      }
      return this.failedToken(presented, caller);
    },

    /** A failed tenant authentication that presented `presented` (or nothing): counted, then refused. */
    failedToken(presented: string | null, caller: Caller): never {
      // The identity is only what the token claims (attacker-chosen): it keys the throttle, and is
      // recorded as `claimed`, never as the record's tenant.
      const claimed = (presented && TENANT_HINT.exec(presented)?.[1]) || NOBODY;
      return failed(caller, claimed, false);
    },
  };
}

export type Auth = ReturnType<typeof createAuth>;
