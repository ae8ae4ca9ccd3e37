// Sandbox run slots: `sandbox.maxConcurrent` runs at once in all and `sandbox.maxConcurrentPerTenant`
// per tenant, shared fairly. A tenant's first run may take any free slot; a tenant that already has a
// run in progress may not take the last `reserve` free slots (a quarter of the slots, at least one):
// they are kept for tenants with none. So one tenant — whatever per-tenant limit the operator gives
// it — can never hold every slot and keep the other tenants from running at all.
import { AppError } from "../../core/errors.ts";

export interface SlotLimits {
  maxConcurrent: number;
  maxConcurrentPerTenant: number;
}

/** Free slots kept for tenants with no run in progress. */
export function reservedSlots(maxConcurrent: number): number {
  return Math.max(1, Math.floor(maxConcurrent / 4));
}

const busy = (message: string) => new AppError("RATE_LIMITED", message, { headers: { "retry-after": "1" } });

export function createRunSlots() {
  const running = new Map<string, number>();
  let total = 0;

  return {
    /** Takes a slot for one run of the tenant, or refuses with RATE_LIMITED; returns its release. */
    acquire(tenantId: string, limits: SlotLimits): () => void {
      const mine = running.get(tenantId) ?? 0;
      if (mine >= limits.maxConcurrentPerTenant) throw busy(`this tenant already has ${mine} sandbox runs in progress (limit ${limits.maxConcurrentPerTenant})`);
      if (total >= limits.maxConcurrent) throw busy("the gateway is running as many sandboxes as it allows; retry shortly");
      if (mine > 0 && total >= limits.maxConcurrent - reservedSlots(limits.maxConcurrent)) {
        throw busy(`this tenant already has ${mine} sandbox runs in progress; the gateway's last free slots are kept for tenants with none; retry when one of yours ends`);
      }
      running.set(tenantId, mine + 1);
      total++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        total--;
        const n = (running.get(tenantId) ?? 1) - 1;
        if (n <= 0) running.delete(tenantId);
        else running.set(tenantId, n);
      };
    },

    inProgress(tenantId?: string): number {
      return tenantId === undefined ? total : (running.get(tenantId) ?? 0);
    },
  };
}
