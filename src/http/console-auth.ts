// The web console's cookie on the existing surfaces (only when the request presents no bearer
// credential): POST /rpc (tenant session + x-csrf-token + same Origin when one is sent), GET /rpc
// (tenant session + an Origin that is the gateway's own or allowed: a browser always sends one, so a
// cookie without one is not a browser page of ours) and /admin/v1 (admin session; x-csrf-token on every
// non-GET). A session authorizes only its own face: a tenant cookie never reaches /admin/v1, an admin
// cookie never /rpc. Each use re-checks what the session was bound to — the tenant's token still the
// current one (a rotation ends the session even while the old token is in its grace period),
// the same incarnation, still active; the admin key not rotated — and a session that fails it is
// deleted. Every failure is the one 401 of the API, counted by the same throttle.
import type { Core } from "../app/core.ts";
import { AppError } from "../core/errors.ts";
import type { Actor } from "../edge/actor.ts";
import type { AdminContext, TenantIdentity } from "../edge/tenant-scope.ts";
import { equalSecret } from "../lib/constant-time.ts";
import { hashPrefix } from "../lib/token-format.ts";
import { consoleCookie, type ConsoleSession } from "../modules/console/console.sessions.ts";
import type { Auth, Caller } from "./auth.ts";
import { bindSessionIdentity } from "./tenant-identity.ts";

export const CSRF_HEADER = "x-csrf-token";

/** Whether the request's Origin names the gateway itself (its host is the request's Host), or one listed. */
function sameOrigin(origin: string, request: Request, allowed: readonly string[]): boolean {
  if (allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === request.headers.get("host");
  } catch {
    return false;
  }
}

const forbidden = (message: string) => new AppError("FORBIDDEN", message);

export function createConsoleAuth(core: Core, auth: Auth) {
  const sessions = core.consoleSessions;

  /** Whether a session is still bound to what it was signed in with. */
  function valid(s: ConsoleSession): boolean {
    if (s.kind === "admin") return core.adminDigests().some((d) => hashPrefix(d, "adm") === s.actorId);
    const tenantId = s.tenantId!;
    return core.tenants.incarnation(tenantId) === s.incarnation && core.tenants.isActive(tenantId) && core.tokens.isCurrent(tenantId, s.actorId);
  }

  /** The cookie's session if it is live and still valid (an invalid one is deleted); else null. */
  function current(cookie: string | null): ConsoleSession | null {
    if (!cookie) return null;
    const s = sessions.find(cookie);
    if (!s) return null;
    if (valid(s)) return s;
    sessions.revoke(s.id);
    return null;
  }

  /** Refuses a request whose CSRF header is not the session's token (403, naming the problem). */
  function checkCsrf(request: Request, s: ConsoleSession): void {
    const presented = request.headers.get(CSRF_HEADER);
    if (!presented) throw forbidden(`a console session's request must carry the ${CSRF_HEADER} header (the csrfToken its sign-in returned)`);
    if (!equalSecret(presented, s.csrfToken)) throw forbidden(`the ${CSRF_HEADER} header does not match this console session's CSRF token`);
  }

  /** Refuses a cross-origin request (a present Origin that is not the gateway's own, or listed). */
  function checkOrigin(request: Request, required: boolean, allowed: readonly string[] = []): void {
    const origin = request.headers.get("origin");
    if (origin === null) {
      if (required) throw forbidden("a console session's WebSocket must come from a browser page of the gateway's own origin (no Origin header was sent)");
      return;
    }
    if (!sameOrigin(origin, request, allowed)) throw forbidden("this Origin may not use the console session: only the gateway's own origin may");
  }

  return {
    /** Whether the request carries a console cookie (the edge then authenticates by it, if no bearer is presented). */
    present: (request: Request) => request.headers.get("cookie")?.includes("ocmu_console=") === true,

    /** The live, valid session of the request's cookie, or null (the session endpoints). */
    session: (request: Request) => current(consoleCookie(request)),

    checkCsrf,
    checkOrigin,

    /** POST /rpc and GET /rpc (WebSocket) by a tenant's cookie session. */
    tenant(request: Request, caller: Caller, opts: { websocket: boolean }): { tenant: TenantIdentity; actor: Actor } {
      const inUrl = opts.websocket && new URL(request.url).search !== "";
      const s = inUrl ? null : current(consoleCookie(request));
      if (!s || s.kind !== "tenant") return auth.failedToken(null, caller);
      if (opts.websocket) {
        checkOrigin(request, true, core.config.gateway.websocket.allowedOrigins);
      } else {
        checkOrigin(request, false);
        checkCsrf(request, s);
      }
      auth.throttle.succeed(caller.ip, s.tenantId!);
      const id = s.id;
      // A long-lived request or WebSocket re-checks the session itself too: a sign-out ends it.
      const tenant = bindSessionIdentity({ id, tenantId: s.tenantId!, incarnation: s.incarnation!, actor: { kind: "tenant", id: s.actorId } }, () => sessions.alive(id) && valid(s));
      return { tenant, actor: tenant.actor };
    },

    /** /admin/v1 by the admin's cookie session (never a tenant's). */
    admin(request: Request, caller: Caller): AdminContext {
      const s = current(consoleCookie(request));
      if (s?.kind === "tenant") return auth.tenantOnAdmin({ tenantId: s.tenantId!, actorId: s.actorId }, caller, "tenant console session used on the control plane");
      if (!s || s.kind !== "admin") return auth.adminKey(null, caller);
      checkOrigin(request, false);
      if (request.method !== "GET" && request.method !== "HEAD") checkCsrf(request, s);
      return auth.adminAs(s.actorId, caller);
    },
  };
}

export type ConsoleAuth = ReturnType<typeof createConsoleAuth>;
