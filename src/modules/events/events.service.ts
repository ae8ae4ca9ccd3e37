// Tenant events: what a tenant's live connections are told as things happen (an agent run's steps, a
// session changing, a cron run). One bus per gateway, keyed by tenant *incarnation*: a listener hears
// only the tenant it subscribed as, and never a tenant created later under the same id. Delivery is
// synchronous and in publish order; a listener that throws is dropped, never the publisher's problem.
import type { Logger } from "../../core/logger.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";

export interface TenantEvent {
  /** The notification's method name, e.g. "chat.delta", "sessions.changed". */
  method: string;
  params: Record<string, unknown>;
  /** What the event is about, for subscriptions that filter (a session, a run). */
  sessionKey?: string;
  runId?: string;
}

export type EventListener = (event: TenantEvent) => void;

export interface EventsService {
  /** Tells every listener of the tenant's current incarnation. A tenant with no incarnation (gone) is told nothing. */
  publish(tenant: TenantScope, event: TenantEvent): void;
  /** Listens to the tenant's current incarnation; the returned function stops listening. */
  subscribe(tenant: TenantScope, listener: EventListener): () => void;
  /** Listeners of one incarnation (tests and status). */
  listeners(tenantId: string, incarnation: string): number;
  /** Drops every listener of an incarnation (the tenant stopped). */
  drop(tenantId: string, incarnation: string): void;
}

export function createEventsService(deps: { incarnationOf(tenantId: string): string | null; log: Logger }): EventsService {
  const byKey = new Map<string, Set<EventListener>>();
  const key = (tenantId: string, incarnation: string) => `${tenantId}\u0000${incarnation}`;

  return {
    publish(tenant, event) {
      const inc = deps.incarnationOf(tenant.tenantId);
      if (inc === null) return;
      const set = byKey.get(key(tenant.tenantId, inc));
      if (!set) return;
      for (const listener of [...set]) {
        try {
          listener(event);
        } catch (err) {
          set.delete(listener);
          deps.log.warn("an event listener failed and was dropped", { method: event.method, error: String(err) });
        }
      }
    },
    subscribe(tenant, listener) {
      const inc = deps.incarnationOf(tenant.tenantId);
      if (inc === null) return () => {};
      const k = key(tenant.tenantId, inc);
      let set = byKey.get(k);
      if (!set) byKey.set(k, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && byKey.get(k) === set) byKey.delete(k);
      };
    },
    listeners: (tenantId, incarnation) => byKey.get(key(tenantId, incarnation))?.size ?? 0,
    drop(tenantId, incarnation) {
      byKey.delete(key(tenantId, incarnation));
    },
  };
}
