// The web console's sign-in: POST /ui/api/session exchanges a tenant token ({"token"}) or the admin key
// ({"adminKey"}) for a cookie session (modules/console/console.sessions.ts), GET answers the cookie's
// session, DELETE signs out (CSRF-checked). The exchange is authentication like any other: every failed
// credential is the API's one 401, counted and throttled by the same AuthThrottle (429 + Retry-After).
// Here, in the HTTP layer, because it shares that throttle with the edge (http/auth.ts).
import { Elysia } from "elysia";
import type { Core } from "../app/core.ts";
import { AppError } from "../core/errors.ts";
import type { Actor } from "../edge/actor.ts";
import { requestInfo } from "../edge/request-info.ts";
import { COOKIE_NAME, type ConsoleSession } from "../modules/console/console.sessions.ts";
import type { PageMeta } from "../modules/module.ts";
import type { Auth, Caller } from "./auth.ts";
import type { ConsoleAuth } from "./console-auth.ts";

export const SESSION_PATH = "/ui/api/session";

/** Every module's console pages for one face, in menu order. */
export function pagesFor(core: Core, face: PageMeta["face"]): PageMeta[] {
  return core.modules
    .flatMap((m) => m.console?.pages ?? [])
    .filter((p) => p.face === face)
    .sort((a, b) => a.order - b.order || a.id.localeCompare(b.id))
    .map((p) => ({ ...p }));
}

export function consoleSessionRoutes(core: Core, auth: Auth, cookies: ConsoleAuth) {
  const callerOf = (request: Request): Caller => {
    const info = requestInfo(request);
    return { ip: info.ip, requestId: info.requestId, clientRequestId: info.clientRequestId, method: request.method, path: info.path };
  };
  const secure = (request: Request) => core.config.gateway.console.secureCookie === "always" || requestInfo(request).viaTls === true;
  const cookie = (request: Request, value: string, maxAge: number) => `${COOKIE_NAME}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure(request) ? "; Secure" : ""}`;
  const body = (s: ConsoleSession) => ({
    kind: s.kind,
    ...(s.tenantId ? { tenantId: s.tenantId } : {}),
    csrfToken: s.csrfToken,
    expiresAt: new Date(s.expiresAt).toISOString(),
    pages: pagesFor(core, s.kind === "admin" ? "operator" : "tenant"),
  });
  const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
    new Response(value === null ? null : JSON.stringify(value), { status, headers: { ...(value === null ? {} : { "content-type": "application/json" }), "cache-control": "no-store", ...headers } });
  const audit = (action: string, actor: Actor, s: ConsoleSession, caller: Caller) => ({
    actor,
    action,
    target: { type: "console_session", id: `cs:${s.id.slice(0, 12)}` },
    ...(s.tenantId ? { tenant: s.tenantId } : {}),
    requestId: caller.requestId,
    clientRequestId: caller.clientRequestId,
    src: { ip: caller.ip },
    details: { kind: s.kind },
  });

  return new Elysia()
    .post(
      SESSION_PATH,
      ({ request, body: raw }) => {
        const caller = callerOf(request);
        // Another site's page may not sign a visitor in (to an account of its choosing).
        cookies.checkOrigin(request, false);
        const b = raw as Record<string, unknown> | null;
        const keys = b && typeof b === "object" && !Array.isArray(b) ? Object.keys(b) : [];
        if (keys.length !== 1 || !["token", "adminKey"].includes(keys[0]!) || typeof b![keys[0]!] !== "string") {
          throw new AppError("INVALID_PARAMS", 'body must be {"token": "<tenant token>"} or {"adminKey": "<admin key>"}');
        }
        let actor: Actor;
        let make: () => { cookie: string; session: ConsoleSession; evicted: string[] };
        if (keys[0] === "token") {
          const who = auth.token(b!.token as string, caller);
          // A token in its grace period after a rotation signs nobody in (its sessions would end at once).
          if (!core.tokens.isCurrent(who.tenant.tenantId, who.actor.id)) auth.failedToken(b!.token as string, caller);
          // A sign-in is an audited change like any other (a session row, an audit record, sockets
          // closed): it takes from the tenant's change budget, so a storm of them is refused (red team
          // 20, F3). A sign-out never is: no one must be kept signed in for want of budget.
          core.admission.spendChange(who.tenant.tenantId, "console.signin");
          actor = who.actor;
          make = () => core.consoleSessions.create({ kind: "tenant", tenantId: who.tenant.tenantId, incarnation: who.tenant.incarnation, actorId: who.actor.id });
        } else {
          const admin = auth.adminKey(b!.adminKey as string, caller);
          actor = admin.actor;
          make = () => core.consoleSessions.create({ kind: "admin", actorId: admin.actor.id });
        }
        // A sign-in over an existing session replaces it (no pile of sessions from one browser).
        const previous = cookies.session(request);
        const { result } = core.audit.transact(
          (r: { cookie: string; session: ConsoleSession; evicted: string[] }) => audit("console.signin", actor, r.session, caller),
          () => {
            if (previous) core.consoleSessions.revoke(previous.id);
            return make();
          },
          { invalidatesCaches: false },
        );
        // The replaced session's WebSockets, and those of any session the cap evicted, end now.
        if (previous?.tenantId) core.wsConnections.endSessions(previous.tenantId, [previous.id]);
        if (result.session.tenantId) core.wsConnections.endSessions(result.session.tenantId, result.evicted);
        const ttl = core.config.gateway.console.sessionTtlSeconds;
        return json(200, body(result.session), { "set-cookie": cookie(request, result.cookie, ttl) });
      },
      { detail: { hide: true } },
    )
    .get(
      SESSION_PATH,
      ({ request }) => {
        const s = cookies.session(request);
        if (!s) return auth.failedToken(null, callerOf(request));
        return json(200, body(s));
      },
      { detail: { hide: true } },
    )
    .delete(
      SESSION_PATH,
      ({ request }) => {
        const caller = callerOf(request);
        const s = cookies.session(request);
        if (!s) return auth.failedToken(null, caller);
        cookies.checkOrigin(request, false);
        cookies.checkCsrf(request, s);
        const actor: Actor = { kind: s.kind, id: s.actorId };
        core.audit.transact(audit("console.signout", actor, s, caller), () => core.consoleSessions.revoke(s.id), { invalidatesCaches: false });
        // Its open WebSockets end now, told nothing more (not at their next frame or event).
        if (s.tenantId) core.wsConnections.endSessions(s.tenantId, [s.id]);
        return json(204, null, { "set-cookie": cookie(request, "", 0) });
      },
      { detail: { hide: true } },
    );
}
