// A tenant id's current incarnation, asked for on every routed request (ledger rows and quota
// accounts are keyed by it): cached until any process commits a change, like token digests.
import type { ChangeTracker } from "../../db/change-tracker.ts";

const MAX_CACHED = 50_000;

export function createIncarnationCache(deps: { row(id: string): { incarnation: string } | undefined; changes: ChangeTracker }) {
  const cache = new Map<string, string | null>();
  let seen = "";
  return {
    of(id: string): string | null {
      const version = deps.changes.version();
      if (version !== seen || cache.size >= MAX_CACHED) {
        cache.clear();
        seen = version;
      }
      let inc = cache.get(id);
      if (inc === undefined) {
        inc = deps.row(id)?.incarnation ?? null;
        cache.set(id, inc);
      }
      return inc;
    },
    /** This process changed the tenant (a delete): asked again at once, before the tracker says so. */
    forget(id: string): void {
      cache.delete(id);
    },
  };
}
