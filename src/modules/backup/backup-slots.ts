// Who may run a backup or restore now. Each holds a few hundred MB and a core's worth of CPU, so one
// runs per tenant at a time and TOTAL in all. Tenants' own backups (RPC tenants.backup) share at most
// TENANT_SHARE of those slots, so however many tenants back themselves up at once, the operator's
// backups and restores always find a slot. Another is turned away at once with RATE_LIMITED.
//
// Tenants take the tenant slot in turns (../../lib/fair-turns.ts): a tenant refused because the slot
// was busy goes first when it frees, as long as it keeps retrying, and every other tenant is refused
// meanwhile — so one tenant cannot keep the slot by asking again the moment its backup ends. (How
// often one tenant may back itself up at all is backup.tenantMinIntervalMinutes, in the service.)
import { AppError } from "../../core/errors.ts";
import { createTurns } from "../../lib/fair-turns.ts";

export const TOTAL_SLOTS = 2;
export const TENANT_SHARE = 1;
/** Seconds a refused caller is told to wait; a tenant in line keeps its place for 3× that. */
export const RETRY_AFTER_SECONDS = 5;

const busyError = (message: string) =>
  new AppError("RATE_LIMITED", message, { details: { retryAfterSeconds: RETRY_AFTER_SECONDS }, headers: { "retry-after": String(RETRY_AFTER_SECONDS) } });

export function createBackupSlots(total = TOTAL_SLOTS, tenantShare = TENANT_SHARE, now: () => number = Date.now) {
  let running = 0;
  let tenantRunning = 0;
  const busy = new Set<string>();
  const line = createTurns({ ttlMs: 3 * RETRY_AFTER_SECONDS * 1000, now });

  return {
    /** Takes a slot (and the tenant's own, when it is known already); `byTenant` for a tenant's own backup. */
    acquire(tenantId: string | null, byTenant: boolean) {
      if (tenantId !== null && busy.has(tenantId)) throw busyError(`a backup or restore of tenant "${tenantId}" is already running`);
      if (byTenant) {
        const key = tenantId ?? "";
        if (tenantRunning >= tenantShare || running >= total) {
          line.refused(key);
          throw busyError("the gateway is running as many tenant backups as it allows; retry shortly (your place in line is kept while you retry)");
        }
        if (!line.isFirst(key)) {
          line.refused(key);
          throw busyError("other tenants are waiting for their turn to back up; retry shortly (your place in line is kept while you retry)");
        }
      }
      if (running >= total) throw busyError(`${total} backups or restores are already running; retry shortly`);
      if (byTenant) line.served(tenantId ?? "");
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

    /** Tenants waiting for the tenant slot, first first. */
    waiting: () => line.waiting(),
  };
}
