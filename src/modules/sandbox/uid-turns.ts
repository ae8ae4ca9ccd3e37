// Under the `rlimits` limiter (no usable cgroup) a bwrap run's process limit is RLIMIT_NPROC, which
// the kernel counts per uid — and every tenant's sandboxes run as the same uid (the gateway's, or
// 65534 under a root gateway; docker-mode containers too). One tenant's processes would then make
// every other tenant's fork, or bwrap's own namespace setup, fail. So while such a run is live, no
// other tenant's run (of any mode) starts, and while another tenant has runs live, no such run
// starts: the tenant whose run would overlap gets RATE_LIMITED (Retry-After: 1), and tenants take
// turns fairly (../../lib/fair-turns.ts) — the first one refused goes next, and the tenant that has
// the turn starts no new run while another waits. With cgroups (or docker only) nothing changes.
import { AppError } from "../../core/errors.ts";
import { createTurns } from "../../lib/fair-turns.ts";

/** What `doctor`, `sandbox status` and the gateway's start say when bwrap runs are limited by rlimits. */
export const RLIMITS_WARNING =
  "bwrap runs are limited by rlimits only: RLIMIT_NPROC counts per uid and every tenant's sandboxes run as the same uid, so the process limit cannot keep tenants apart. " +
  "Tenants' runs therefore never overlap (another tenant's run is refused with RATE_LIMITED until it is its turn), which serialises every tenant's sandboxes. " +
  "Give the gateway a cgroup (systemd Delegate=yes, or writable cgroup v1 controllers) to run them side by side with per-run limits.";

/** How long a refused tenant keeps its place without asking again (clients retry after 1 s). */
export const TURN_TTL_MS = 5000;

const busy = (message: string) => new AppError("RATE_LIMITED", message, { details: { retryAfterSeconds: 1 }, headers: { "retry-after": "1" } });

export function createUidTurns(now: () => number = Date.now) {
  /** Live runs per tenant (key: tenant/incarnation), and how many of them are rlimits-limited. */
  const live = new Map<string, { runs: number; exclusive: number }>();
  const turns = createTurns({ ttlMs: TURN_TTL_MS, now });

  return {
    /**
     * Takes the turn for one run, or refuses with RATE_LIMITED; returns its release. `exclusive`: the
     * run is limited by rlimits (it must not share its uid's process count with another tenant).
     */
    acquire(key: string, exclusive: boolean): () => void {
      const overlaps = [...live].some(([k, l]) => k !== key && (exclusive || l.exclusive > 0));
      if (overlaps || !turns.isFirst(key)) {
        turns.refused(key);
        throw busy(
          overlaps
            ? "another tenant's sandbox runs are in progress, and under the rlimits limiter tenants' runs cannot share the process count; retry shortly (your turn is kept while you retry)"
            : "another tenant is waiting for its turn to run sandboxes (rlimits limiter); retry shortly",
        );
      }
      turns.served(key);
      const mine = live.get(key) ?? { runs: 0, exclusive: 0 };
      mine.runs++;
      if (exclusive) mine.exclusive++;
      live.set(key, mine);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        mine.runs--;
        if (exclusive) mine.exclusive--;
        if (mine.runs <= 0) live.delete(key);
      };
    },

    /** Tenants waiting for their turn, first first. */
    waiting: () => turns.waiting(),
  };
}
