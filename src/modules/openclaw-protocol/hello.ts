// hello-ok: the answer to a successful `connect`, inside upstream's closed HelloOkSchema. Everything
// in it is the tenant's own or a limit this connection enforces: no presence of other connections,
// no host, path, config hash or build of the host — the tenant sees its agents, its sessions' health
// and the defaults its clients build session keys from.
import type { TenantScope } from "../../edge/tenant-scope.ts";
import type { Scope, V4EventName } from "./methods.ts";
import { SESSION_DEFAULTS, tenantHealth } from "./methods/basic.ts";
import type { V4Services } from "./needs.ts";
import { PROTOCOL_VERSION } from "./handshake.ts";

/** Every event a connection may be sent (features.events): exactly the V4EventName union. */
export const EVENTS: readonly V4EventName[] = ["connect.challenge", "tick", "health", "shutdown", "chat", "agent", "sessions.changed", "session.message", "cron"];

export interface Policy {
  maxPayload: number;
  maxBufferedBytes: number;
  tickIntervalMs: number;
}

export interface HelloInput {
  svc: V4Services;
  tenant: TenantScope;
  version: string;
  connId: string;
  methods: readonly string[];
  scopes: readonly Scope[];
  policy: Policy;
  /** When the connection was accepted (snapshot.uptimeMs counts from it: the gateway's own uptime is not the tenant's business). */
  connectedAt: number;
  now: number;
}

export function helloOk(h: HelloInput) {
  return {
    type: "hello-ok" as const,
    protocol: PROTOCOL_VERSION,
    server: { version: h.version, connId: h.connId },
    features: { methods: [...h.methods], events: [...EVENTS] },
    snapshot: {
      presence: [],
      health: tenantHealth(h.svc, h.tenant, h.now),
      stateVersion: { presence: 0, health: 0 },
      uptimeMs: Math.max(0, h.now - h.connectedAt),
      sessionDefaults: { ...SESSION_DEFAULTS },
      authMode: "token" as const,
    },
    auth: { method: "token" as const, role: "operator", scopes: [...h.scopes] },
    policy: { ...h.policy },
  };
}
