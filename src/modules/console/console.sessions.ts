// Web console cookie sessions at rest: one row per sign-in, keyed by the SHA-256 of the cookie's value
// (32 random bytes, base64url). Whether a session still authorizes anything — its token still live, its
// tenant's incarnation unchanged, the admin key not rotated — is decided where it is used (the HTTP
// edge, http/console-auth.ts); here are lifetime, the idle limit, the per-owner cap and revocation.
import type { Database } from "bun:sqlite";
import { createHash, randomBytes } from "node:crypto";
import type { Clock } from "../../core/clock.ts";

export const COOKIE_NAME = "ocmu_console";
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

export interface ConsoleLimits {
  sessionTtlSeconds: number;
  idleTimeoutSeconds: number;
  maxSessionsPerTenant: number;
}

export interface ConsoleSession {
  id: string;
  kind: "tenant" | "admin";
  tenantId: string | null;
  incarnation: string | null;
  actorId: string;
  csrfToken: string;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
}

export type NewSession = { kind: "tenant"; tenantId: string; incarnation: string; actorId: string } | { kind: "admin"; actorId: string };

/** A use refreshes last_used_at at most this often (a write per request would cost every call). */
const TOUCH_MS = 15_000;

const COLUMNS = "id, kind, tenant_id AS tenantId, incarnation, actor_id AS actorId, csrf_token AS csrfToken, created_at AS createdAt, last_used_at AS lastUsedAt, expires_at AS expiresAt";

export const sessionIdOf = (cookie: string) => createHash("sha256").update(cookie).digest("hex");

/** The console cookie's value in a Cookie header, if it has the shape one has (else null: no session). */
export function consoleCookie(request: Request): string | null {
  const header = request.headers.get("cookie");
  if (!header) return null;
  const found: string[] = [];
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE_NAME) found.push(part.slice(eq + 1).trim());
  }
  // Two cookies of the name (one planted for a sub-path or a parent domain): neither is used.
  return found.length === 1 && COOKIE_VALUE.test(found[0]!) ? found[0]! : null;
}

export function createConsoleSessions(deps: { sqlite: Database; clock: Clock; limits: () => ConsoleLimits }) {
  const { sqlite, clock } = deps;
  const byId = sqlite.query(`SELECT ${COLUMNS} FROM console_sessions WHERE id = ?1`);
  const insert = sqlite.query("INSERT INTO console_sessions (id, kind, tenant_id, incarnation, actor_id, csrf_token, created_at, last_used_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)");
  const remove = sqlite.query("DELETE FROM console_sessions WHERE id = ?1");
  const touch = sqlite.query("UPDATE console_sessions SET last_used_at = ?2 WHERE id = ?1");
  const prune = sqlite.query("DELETE FROM console_sessions WHERE expires_at <= ?1 OR last_used_at <= ?2");
  // The owner's sessions past the cap, oldest first (ties by rowid: insertion order).
  const overCap = sqlite.query("SELECT id FROM console_sessions WHERE kind = ?1 AND tenant_id IS ?2 ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?3");
  const ofTenant = sqlite.query("DELETE FROM console_sessions WHERE kind = 'tenant' AND tenant_id = ?1");
  const ofToken = sqlite.query("DELETE FROM console_sessions WHERE kind = 'tenant' AND tenant_id = ?1 AND actor_id = ?2");
  const adminActors = sqlite.query("SELECT DISTINCT actor_id AS actorId FROM console_sessions WHERE kind = 'admin'");
  const ofAdmin = sqlite.query("DELETE FROM console_sessions WHERE kind = 'admin' AND actor_id = ?1");

  const idleMs = () => deps.limits().idleTimeoutSeconds * 1000;

  return {
    /**
     * A new session (the cookie's value is returned once, never stored); the owner's oldest past the cap
     * end, and their ids are returned (`evicted`: their WebSockets are closed too).
     */
    create(s: NewSession): { cookie: string; session: ConsoleSession; evicted: string[] } {
      const limits = deps.limits();
      const now = clock.now();
      const cookie = randomBytes(32).toString("base64url");
      const session: ConsoleSession = {
        id: sessionIdOf(cookie),
        kind: s.kind,
        tenantId: s.kind === "tenant" ? s.tenantId : null,
        incarnation: s.kind === "tenant" ? s.incarnation : null,
        actorId: s.actorId,
        csrfToken: randomBytes(32).toString("base64url"),
        createdAt: now,
        lastUsedAt: now,
        expiresAt: now + limits.sessionTtlSeconds * 1000,
      };
      const evicted: string[] = [];
      sqlite.transaction(() => {
        prune.run(now, now - idleMs());
        insert.run(session.id, session.kind, session.tenantId, session.incarnation, session.actorId, session.csrfToken, now, session.expiresAt);
        for (const r of overCap.all(session.kind, session.tenantId, limits.maxSessionsPerTenant) as { id: string }[]) {
          remove.run(r.id);
          evicted.push(r.id);
        }
      })();
      return { cookie, session, evicted };
    },

    /** The session of a cookie, if it exists and is within its lifetime and idle limit (an ended one is deleted). */
    find(cookie: string): ConsoleSession | null {
      const id = sessionIdOf(cookie);
      const row = byId.get(id) as ConsoleSession | null;
      if (!row) return null;
      const now = clock.now();
      if (row.expiresAt <= now || row.lastUsedAt <= now - idleMs()) {
        remove.run(id);
        return null;
      }
      if (now - row.lastUsedAt >= TOUCH_MS) touch.run(id, now);
      return row;
    },

    /**
     * Whether the session (by id) still exists and is within its limits: a long-lived connection's
     * re-check. It is a use too (as `find` is): a console busy only over its WebSocket — the tenant
     * face's every call — must not go idle under its user (red team 19, F2).
     */
    alive(id: string): boolean {
      const row = byId.get(id) as ConsoleSession | null;
      const now = clock.now();
      const live = row !== null && row.expiresAt > now && row.lastUsedAt > now - idleMs();
      if (live && now - row.lastUsedAt >= TOUCH_MS) touch.run(id, now);
      return live;
    },

    /** Ends one session (sign-out, or one found no longer valid). */
    revoke(id: string): void {
      remove.run(id);
    },

    /** Ends every session of the tenant, or only those signed in with the given tokens (actor ids). */
    revokeTenant(tenantId: string, tokens?: readonly string[]): void {
      if (tokens) for (const t of tokens) ofToken.run(tenantId, t);
      else ofTenant.run(tenantId);
    },

    /** Ends the admin sessions of every admin key not accepted any more (a rotation). */
    revokeAdminExcept(accepted: readonly string[]): void {
      for (const r of adminActors.all() as { actorId: string }[]) if (!accepted.includes(r.actorId)) ofAdmin.run(r.actorId);
    },

    /** Deletes the sessions past their lifetime or idle limit. */
    prune(): void {
      const now = clock.now();
      prune.run(now, now - idleMs());
    },
  };
}

export type ConsoleSessions = ReturnType<typeof createConsoleSessions>;
