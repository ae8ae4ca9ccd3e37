// The upstream-protocol service: the methods of every family (methods/index.ts) in one table, and the
// connections on `/` — admitted against the caps on connections that have not authenticated yet (per
// source address and in all; once authenticated a connection counts against the tenant's WebSocket
// caps instead, shared with GET /rpc).
import { AppError } from "../../core/errors.ts";
import type { Platform } from "../module.ts";
import { V4Connection, type ConnectionAuth, type ProtocolShared } from "./connection.ts";
import { CONNECTION_HOOKS, METHOD_FAMILIES } from "./methods/index.ts";
import type { V4Method } from "./methods.ts";
import type { V4Services } from "./needs.ts";

/** The handshake's caller: its address, the source it is counted under (an IPv6 /64), the edge's token check. */
export type Caller = Omit<ConnectionAuth, "releasePending"> & { source: string };

export function createProtocolService(platform: Platform, svc: V4Services) {
  const methods = new Map<string, V4Method>();
  for (const family of METHOD_FAMILIES) {
    for (const m of family(svc)) {
      if (methods.has(m.name)) throw new Error(`two protocol-v4 methods are named "${m.name}"`);
      methods.set(m.name, m);
    }
  }
  const shared: ProtocolShared = {
    svc,
    methods,
    methodNames: [...methods.keys()],
    hooks: CONNECTION_HOOKS,
    config: platform.config,
    log: platform.log,
    version: platform.version,
    now: () => platform.clock.now(),
  };
  /** The pending connections' places, by source; a place is an object of its own so a release is exact. */
  const places = new Map<string, Set<object>>();
  let total = 0;

  /** Takes a pending place for `source`, or refuses (429 for the source, 503 for the gateway). */
  function reserve(source: string): () => void {
    const c = platform.config().gateway.openclawProtocol;
    const held = places.get(source) ?? new Set<object>();
    if (held.size >= c.maxPendingPerIp) {
      throw new AppError("RATE_LIMITED", `too many unauthenticated WebSocket connections from this address (at most ${c.maxPendingPerIp}: gateway.openclawProtocol.maxPendingPerIp); send connect or close some first`, {
        headers: { "retry-after": "5" },
        details: { retryAfterSeconds: 5, limit: c.maxPendingPerIp },
      });
    }
    if (total >= c.maxPending) {
      throw new AppError("UNAVAILABLE", "the gateway has as many unauthenticated WebSocket connections as it takes (gateway.openclawProtocol.maxPending); retry later", {
        headers: { "retry-after": "5" },
        details: { retryAfterSeconds: 5 },
      });
    }
    const place = {};
    held.add(place);
    places.set(source, held);
    total++;
    return () => {
      if (!held.delete(place)) return;
      total--;
      if (held.size === 0 && places.get(source) === held) places.delete(source);
    };
  }

  return {
    /** The methods served, in the order hello-ok lists them. */
    methodNames: shared.methodNames,

    /** A connection for a WebSocket handshake on `/` (throws AppError when the caps refuse it). */
    connection(caller: Caller): V4Connection {
      const releasePending = reserve(caller.source);
      let conn: V4Connection | null = null;
      const untrack = svc.wsConnections.hold({ end: (code, reason) => conn?.end(code, reason) });
      conn = new V4Connection(shared, { ip: caller.ip, authenticate: caller.authenticate, failed: caller.failed, releasePending }, untrack);
      return conn;
    },

    /** Unauthenticated connections now: from one source, or all (tests and status). */
    pending: (source?: string) => (source === undefined ? total : (places.get(source)?.size ?? 0)),
  };
}

export type ProtocolService = ReturnType<typeof createProtocolService>;
