// How often a tenant may back itself up (RPC tenants.backup): at most once per
// backup.tenantMinIntervalMinutes. Each self-backup reads the tenant's whole directory, compresses it
// on the gateway and uploads it to the operator's bucket; the caps bound what is kept, this bounds the
// work and the upload volume. The last start is kept in memory per incarnation (failed attempts count:
// they may have uploaded as much), and after a restart the newest recorded self-backup stands in.
import { AppError } from "../../core/errors.ts";

export function createSelfBackupInterval(deps: { minutes(): number; lastRecorded(tenantId: string): number | null }) {
  const started = new Map<string, number>();
  const key = (tenantId: string, incarnation: string) => `${tenantId}/${incarnation}`;

  return {
    /** Refuses with RATE_LIMITED (and when to retry) a self-backup that comes too soon after the last. */
    check(tenantId: string, incarnation: string, now: number): void {
      const gap = deps.minutes() * 60_000;
      if (gap <= 0) return;
      const last = Math.max(started.get(key(tenantId, incarnation)) ?? -Infinity, deps.lastRecorded(tenantId) ?? -Infinity);
      const wait = last + gap - now;
      if (wait <= 0) return;
      const seconds = Math.ceil(wait / 1000);
      throw new AppError("RATE_LIMITED", `a tenant may back itself up once every ${deps.minutes()} minutes (backup.tenantMinIntervalMinutes); the next one may start in ${seconds} s`, {
        details: { retryAfterSeconds: seconds },
        headers: { "retry-after": String(seconds) },
      });
    },

    /** A self-backup of the tenant started now. */
    started(tenantId: string, incarnation: string, now: number): void {
      if (started.size >= 100_000) started.clear();
      started.set(key(tenantId, incarnation), now);
    },
  };
}
