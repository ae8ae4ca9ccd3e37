// The tenants' live WebSocket connections (GET /rpc): counted against the per-tenant and global caps
// before a handshake is accepted, and ended when their tenant stops (TenantData.onStop: suspended,
// deleted, replaced by a restore, or the token that opened them revoked — here or, through a watch,
// by another process such as the CLI). The transport itself (frames, events, backpressure) is the
// http layer's; this is only what must outlive a request: who is connected, and how to end them.
import type { GatewayConfig } from "../../config/schema.ts";
import { AppError } from "../../core/errors.ts";
import type { TenantStop, TenantStopReason } from "../module.ts";
import type { WorkOf, WorkWatch } from "../tenants/tenant-lifecycle.ts";
import { createTenantBudget, type FrameBudget, type RequestBudget } from "./ws.budget.ts";

/** Close codes the gateway ends a connection with (README "Tenant WebSocket"). */
export const CLOSE = {
  /** The connection's identity ended: tenant suspended, deleted or replaced, or its token revoked or expired. */
  identityEnded: 4001,
  /** The client read too slowly: more than gateway.websocket.maxBufferedBytes waited to be sent. */
  slowConsumer: 4008,
  /** The gateway is shutting down. */
  goingAway: 1001,
} as const;

/** How long a socket the gateway closes may take to finish its close handshake before it is dropped. */
export const CLOSE_GRACE_MS = 2_000;

/**
 * Closes a socket with a code and reason; a client that does not read never completes the close
 * handshake, so it is dropped after CLOSE_GRACE_MS.
 */
export function closeSocket(ws: { close(code?: number, reason?: string): void; terminate(): void; readonly readyState: number }, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // already closed
  }
  setTimeout(() => {
    try {
      if (ws.readyState !== 3) ws.terminate();
    } catch {
      // gone
    }
  }, CLOSE_GRACE_MS).unref();
}

/**
 * Sends unless too much already waits for this client: past `maxBuffered` unsent bytes the connection
 * is ended (4008) — so at most that plus one message is ever held for it. A send that throws ends it
 * (1011); `end` is told either way, and the error is returned for the caller's log.
 */
export function sendBounded(ws: { getBufferedAmount(): number; send(text: string): number }, text: string, maxBuffered: number, end: (code: number, reason: string) => void): unknown {
  try {
    if (ws.getBufferedAmount() > maxBuffered) end(CLOSE.slowConsumer, "slow consumer: too much unsent");
    else if (ws.send(text) === 0) end(CLOSE.slowConsumer, "slow consumer: message dropped");
    return null;
  } catch (err) {
    end(1011, "send failed");
    return err;
  }
}

export interface LiveConnection {
  /** The tenant incarnation and the token (actor id, "tok:…") the connection was opened with. */
  work: WorkOf;
  /**
   * Ends the connection with a close code and a short reason (idempotent). `now`: at once, frames still
   * running lose their answers (a sign-out: nothing more is told to the signed-out session's socket).
   */
  end(code: number, reason: string, now?: boolean): void;
  /** The web console session (its id) that opened it, if it was opened by cookie. */
  session?: string;
}

const REASON_TEXT: Record<TenantStopReason, string> = {
  suspended: "tenant suspended",
  deleted: "tenant deleted",
  replaced: "tenant replaced by a restore",
  "token-revoked": "token revoked",
};

export function createConnections(deps: { config(): GatewayConfig; watch(work: WorkOf): WorkWatch; refused?: (limit: string) => void }) {
  const live = new Set<LiveConnection>();
  /** Connections not yet anyone's (an upstream-protocol handshake in progress): only the drain ends them. */
  const pending = new Set<Pick<LiveConnection, "end">>();
  const perTenant = new Map<string, number>();
  /** One watch per (tenant, incarnation, token), shared by that identity's connections. */
  const watches = new Map<string, { watch: WorkWatch; refs: number }>();
  const watchKey = (w: WorkOf) => `${w.tenantId}\u0000${w.incarnation}\u0000${w.token ?? ""}`;
  const budget = createTenantBudget(deps.config, deps.refused);

  return {
    /** A connection's frame budget (its own and its tenant's, shared by every WebSocket surface: ws.budget.ts). */
    frameBudget(tenantId: string): FrameBudget {
      return budget.forConnection(tenantId);
    },

    /** A POST /rpc request's share of the same tenant's byte budget (ws.budget.ts). */
    requestBudget(tenantId: string): RequestBudget {
      return budget.forRequest(tenantId);
    },

    /**
     * Admits a connection of the tenant against the caps (before the handshake is accepted):
     * RATE_LIMITED past the tenant's cap, UNAVAILABLE past the gateway's. Returns the release.
     */
    reserve(tenantId: string): () => void {
      const ws = deps.config().gateway.websocket;
      const mine = perTenant.get(tenantId) ?? 0;
      if (mine >= ws.maxConnectionsPerTenant) {
        throw new AppError("RATE_LIMITED", `too many WebSocket connections for this tenant (at most ${ws.maxConnectionsPerTenant}: gateway.websocket.maxConnectionsPerTenant); close one first`, {
          headers: { "retry-after": "5" },
          details: { retryAfterSeconds: 5, limit: ws.maxConnectionsPerTenant },
        });
      }
      let total = 0;
      for (const n of perTenant.values()) total += n;
      if (total >= ws.maxConnections) {
        throw new AppError("UNAVAILABLE", `the gateway has as many WebSocket connections as it takes (gateway.websocket.maxConnections); retry later`, {
          headers: { "retry-after": "5" },
          details: { retryAfterSeconds: 5 },
        });
      }
      perTenant.set(tenantId, mine + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (perTenant.get(tenantId) ?? 1) - 1;
        if (left > 0) perTenant.set(tenantId, left);
        else perTenant.delete(tenantId);
      };
    },

    /** The connection is open: it is ended when its tenant stops. Returns its removal. */
    add(conn: LiveConnection): () => void {
      live.add(conn);
      const k = watchKey(conn.work);
      const w = watches.get(k);
      if (w) w.refs++;
      else watches.set(k, { watch: deps.watch(conn.work), refs: 1 });
      return () => {
        if (!live.delete(conn)) return;
        const entry = watches.get(k);
        if (entry && --entry.refs === 0) {
          entry.watch.end();
          watches.delete(k);
        }
      };
    },

    /** A connection whose tenant is not known yet: ended when the gateway stops. Returns its removal. */
    hold(conn: Pick<LiveConnection, "end">): () => void {
      pending.add(conn);
      return () => void pending.delete(conn);
    },

    /** TenantData.onStop: ends every connection of the stopped incarnation (of the revoked tokens only, for a revocation). */
    stop(stop: TenantStop): null {
      for (const conn of [...live]) {
        const w = conn.work;
        if (w.tenantId !== stop.tenantId || w.incarnation !== stop.incarnation) continue;
        if (stop.reason === "token-revoked" && !(w.token && stop.tokens?.includes(w.token))) continue;
        conn.end(CLOSE.identityEnded, REASON_TEXT[stop.reason]);
      }
      return null;
    },

    /**
     * Ends at once, as an ended identity, the connections opened by these console sessions of the tenant
     * (signed out, replaced or evicted by a sign-in): not at their next frame or event, and their running
     * frames unanswered. Nothing is asked of any other connection — no check, no database read — so a
     * sign-out costs the same however many connections there are, and a check that would fail for
     * another reason (a busy database) closes nothing (red team 20).
     */
    endSessions(tenantId: string, sessions: readonly string[]): void {
      if (sessions.length === 0) return;
      for (const conn of [...live]) {
        if (conn.session !== undefined && conn.work.tenantId === tenantId && sessions.includes(conn.session)) conn.end(CLOSE.identityEnded, "signed out", true);
      }
    },

    /** Connections open (or being opened): the tenant's, or all. */
    count(tenantId?: string): number {
      if (tenantId !== undefined) return perTenant.get(tenantId) ?? 0;
      let total = 0;
      for (const n of perTenant.values()) total += n;
      return total;
    },

    /** Ends every connection (the gateway is stopping). */
    closeAll(): void {
      for (const conn of [...live, ...pending]) conn.end(CLOSE.goingAway, "gateway shutting down");
    },
  };
}

export type Connections = ReturnType<typeof createConnections>;
