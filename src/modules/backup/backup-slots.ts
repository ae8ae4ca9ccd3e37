// Who may run a backup or restore now. Each holds a few hundred MB and a core's worth of CPU, so one
// runs per tenant at a time and TOTAL in all. Tenants' own backups (RPC tenants.backup) share at most
// TENANT_SHARE of those slots, so however many tenants back themselves up at once, the operator's
// backups and restores always find a slot. Another is turned away at once with RATE_LIMITED.
import { AppError } from "../../core/errors.ts";

export const TOTAL_SLOTS = 2;
export const TENANT_SHARE = 1;

const busyError = (message: string) => new AppError("RATE_LIMITED", message, { headers: { "retry-after": "5" } });

export function createBackupSlots(total = TOTAL_SLOTS, tenantShare = TENANT_SHARE) {
  let running = 0;
  let tenantRunning = 0;
  const busy = new Set<string>();

  return {
    /** Takes a slot (and the tenant's own, when it is known already); `byTenant` for a tenant's own backup. */
    acquire(tenantId: string | null, byTenant: boolean) {
      if (tenantId !== null && busy.has(tenantId)) throw busyError(`a backup or restore of tenant "${tenantId}" is already running`);
      if (byTenant && tenantRunning >= tenantShare) throw busyError("the gateway is running as many tenant backups as it allows; retry shortly");
      if (running >= total) throw busyError(`${total} backups or restores are already running; retry shortly`);
      running++;
      if (byTenant) tenantRunning++;
      const held = new Set<string>();
      let released = false;
      const slot = {
        /** Claims a tenant once a restore has read which one its archive holds. */
        claim(id: string) {
          if (held.has(id)) return;
          if (busy.has(id)) throw busyError(`a backup or restore of tenant "${id}" is already running`);
          busy.add(id);
          held.add(id);
        },
        release() {
          if (released) return;
          released = true;
          for (const id of held) busy.delete(id);
          held.clear();
          running--;
          if (byTenant) tenantRunning--;
        },
      };
      if (tenantId !== null) {
        try {
          slot.claim(tenantId);
        } catch (err) {
          slot.release();
          throw err;
        }
      }
      return slot;
    },
  };
}
