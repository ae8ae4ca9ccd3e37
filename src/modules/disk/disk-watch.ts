// The watchdog over live sandbox runs. Every TICK_MS it reads the free space of the tenants'
// filesystem (a statfs: microseconds) and, for each tenant with a live run, checks it:
//   - when due (every MIN_MEASURE_GAP_MS, or 3× its last walk), or at once when the space the
//     filesystem lost since the tenant's last check could have taken it past a limit (an upper bound:
//     the tenant cannot have written more than the whole filesystem lost) — so a fast writer near its
//     limit is measured within a tick or two instead of a walk interval later;
//   - a check walks its directory and adds the unlinked files its runs hold open or mapped
//     (./held-files.ts); past a limit, the tenant's runs are killed ("disk-limit").
// Under the reserve, runs are killed one at a time, the one that grew most since it began first,
// while the free space keeps falling: a run that wrote nothing is never killed for another's writes.
import type { Logger } from "../../core/logger.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import type { FreeSpace } from "./disk-fs.ts";
import type { DiskLimits } from "./disk-reserve.ts";
import type { TreeUsage } from "./disk-usage.ts";
import { heldUnlinked, type Held, type RunProcs } from "./held-files.ts";

/** How often the free space is read while runs are live. */
const TICK_MS = 25;
/** A tenant's directory is walked again no sooner than this, or 3× its last walk, unless it may be over. */
const MIN_MEASURE_GAP_MS = 50;
const MEASURE_GAP_FACTOR = 3;
/** Under the reserve: what counts as growth, and how long a kill is given to show before the next. */
const GROWTH_FLOOR = { bytes: 1024 * 1024, entries: 64 };
const KILL_GAP_MS = 200;

/** Why the guard killed a sandbox run: the tenant went past its limit, or the disk under the reserve. */
export type DiskKill = "disk-limit" | "disk-reserve";

export type Usage = Pick<TreeUsage, "bytes" | "entries" | "stoppedBy" | "detail">;

export interface RunGuard {
  /** Aborted when the run must be killed (disk, or the caller's own signal). */
  readonly signal: AbortSignal;
  /** Set when the guard killed the run. */
  readonly reason: DiskKill | null;
  /** Tells the watchdog where the run's processes are, once they exist (their unlinked files count). */
  attach(procs: RunProcs): void;
  end(): void;
}

interface LiveRun {
  tenant: TenantScope;
  abort: AbortController;
  reason: DiskKill | null;
  procs: RunProcs | null;
  held: Held;
  /** The tenant's directory when the run began: what it grew since is charged to the run. */
  start: { bytes: number; entries: number };
}

interface TenantWatch {
  checking: boolean;
  next: number;
  /** When the last check began, the free space then, and the usage it found. */
  startedAt: number;
  base: FreeSpace | null;
  last: { bytes: number; entries: number };
  /** How long the last walk took. */
  lastMs: number;
}

export function createDiskWatch(deps: {
  log: Logger;
  reserve: { free(): FreeSpace; below(f: FreeSpace): boolean; warn(f: FreeSpace, what: string): void };
  limits(tenant: TenantScope): DiskLimits;
  /** The tenant's directory, walked (or a walk in flight). */
  measure(tenant: TenantScope): Promise<Usage & { ms: number }>;
  /** The tenant's directory as last measured. */
  current(tenantId: string): { bytes: number; entries: number } | null;
  overBy(u: Usage, lim: DiskLimits): string | null;
  /** Device of the tenants' filesystem (held files elsewhere do not count). */
  device(): number;
  /** The tenant's last run ended: measure it once more (nothing live, so the figure is exact). */
  ended(tenant: TenantScope): void;
}) {
  const { log } = deps;
  const runs = new Set<LiveRun>();
  const watches = new Map<string, TenantWatch>();
  let timer: ReturnType<typeof setInterval> | null = null;
  let breach: { lastKillAt: number; freeAtKill: FreeSpace } | null = null;

  const liveRuns = (tenantId: string) => [...runs].filter((r) => r.tenant.tenantId === tenantId);
  const watchOf = (tenantId: string) => {
    let w = watches.get(tenantId);
    if (!w) watches.set(tenantId, (w = { checking: false, next: 0, startedAt: 0, base: null, last: { bytes: 0, entries: 0 }, lastMs: 0 }));
    return w;
  };

  function kill(run: LiveRun, reason: DiskKill): void {
    if (run.reason) return;
    run.reason = reason;
    run.abort.abort(reason);
  }

  /** Counts the unlinked files the runs hold now (a file held by two runs counts once). */
  function recount(live: LiveRun[]): void {
    let dev: number;
    try {
      dev = deps.device();
    } catch {
      return;
    }
    const seen = new Set<string>();
    for (const r of live) r.held = heldUnlinked(r.procs?.pids() ?? [], dev, seen);
  }

  function heldOf(tenantId: string): Held {
    const h = { bytes: 0, files: 0 };
    for (const r of liveRuns(tenantId)) {
      h.bytes += r.held.bytes;
      h.files += r.held.files;
    }
    return h;
  }

  async function check(tenant: TenantScope, free: FreeSpace | null): Promise<void> {
    const w = watchOf(tenant.tenantId);
    w.checking = true;
    w.startedAt = Date.now();
    w.base = free;
    try {
      recount(liveRuns(tenant.tenantId));
      const m = await deps.measure(tenant);
      const h = heldOf(tenant.tenantId);
      const u: Usage = { bytes: m.bytes + h.bytes, entries: m.entries + h.files, stoppedBy: m.stoppedBy, detail: m.detail };
      w.last = { bytes: u.bytes, entries: u.entries };
      w.lastMs = m.ms;
      w.next = Date.now() + Math.max(MIN_MEASURE_GAP_MS, MEASURE_GAP_FACTOR * m.ms);
      const lim = deps.limits(tenant);
      if (!deps.overBy(u, lim)) return;
      const targets = liveRuns(tenant.tenantId).filter((r) => !r.reason);
      if (targets.length) log.warn("sandbox run killed: the tenant's directory is over its disk limit", { tenant: tenant.tenantId, usedBytes: u.bytes, heldUnlinkedBytes: h.bytes, limitBytes: lim.bytes, usedInodes: u.entries, limitInodes: lim.inodes, stoppedBy: u.stoppedBy });
      for (const run of targets) kill(run, "disk-limit");
    } finally {
      w.checking = false;
    }
  }

  /** What a run added since it began: its tenant's directory's growth, and what it holds unlinked. */
  function growthOf(r: LiveRun): { bytes: number; entries: number } {
    const now = deps.current(r.tenant.tenantId) ?? r.start;
    return { bytes: Math.max(0, now.bytes - r.start.bytes) + r.held.bytes, entries: Math.max(0, now.entries - r.start.entries) + r.held.files };
  }

  function underReserve(free: FreeSpace): void {
    const now = Date.now();
    // The last kill has had its time, and the free space still falls: the next grower goes.
    if (breach && (now - breach.lastKillAt < KILL_GAP_MS || (free.bytes >= breach.freeAtKill.bytes - GROWTH_FLOOR.bytes && free.inodes >= breach.freeAtKill.inodes - GROWTH_FLOOR.entries))) return;
    const alive = [...runs].filter((r) => !r.reason);
    recount(alive);
    const ranked = alive
      .map((r) => ({ r, g: growthOf(r) }))
      .filter(({ g }) => g.bytes >= GROWTH_FLOOR.bytes || g.entries >= GROWTH_FLOOR.entries)
      .sort((a, b) => b.g.bytes - a.g.bytes || b.g.entries - a.g.entries);
    const top = ranked[0];
    if (!top) {
      deps.reserve.warn(free, "no live sandbox run grew since it began; none was killed");
      return;
    }
    deps.reserve.warn(free, "killing the sandbox run that grew most");
    log.warn("sandbox run killed: the free space fell under the reserve and this run grew most", { tenant: top.r.tenant.tenantId, grewBytes: top.g.bytes, grewInodes: top.g.entries, heldUnlinkedBytes: top.r.held.bytes });
    kill(top.r, "disk-reserve");
    breach = { lastKillAt: now, freeAtKill: free };
  }

  function tick(): void {
    let free: FreeSpace | null = null;
    try {
      free = deps.reserve.free();
    } catch (err) {
      log.warn("cannot read the free space of the tenants' filesystem", { error: String(err) });
    }
    if (free && deps.reserve.below(free)) underReserve(free);
    else breach = null;
    const now = Date.now();
    const tenants = new Map([...runs].map((r) => [r.tenant.tenantId, r.tenant]));
    for (const tenant of tenants.values()) {
      const w = watchOf(tenant.tenantId);
      if (w.checking) continue;
      let due = now >= w.next;
      if (!due && free && w.base) {
        // Everything the filesystem lost since the last check could be this tenant's: if that could
        // take it past a limit, look now (walks then take at most half of the disk worker's time).
        const lim = deps.limits(tenant);
        const mayBeOver = w.last.bytes + (w.base.bytes - free.bytes) > lim.bytes || w.last.entries + (w.base.inodes - free.inodes) > lim.inodes;
        due = mayBeOver && now - w.startedAt >= Math.max(TICK_MS, 2 * w.lastMs);
      }
      if (due) check(tenant, free).catch((err) => log.error("disk watchdog check failed", { tenant: tenant.tenantId, error: String(err) }));
    }
  }

  return {
    heldOf,
    /** Live runs of the tenant (its kept measurement is trusted while there are any). */
    liveCount: (tenantId: string) => liveRuns(tenantId).length,

    /** Starts watching a run (the caller checked the limits and the reserve). */
    begin(tenant: TenantScope, start: { bytes: number; entries: number }, outer?: AbortSignal): RunGuard {
      const run: LiveRun = { tenant, abort: new AbortController(), reason: null, procs: null, held: { bytes: 0, files: 0 }, start };
      if (outer) {
        if (outer.aborted) run.abort.abort("aborted");
        else outer.addEventListener("abort", () => run.abort.abort("aborted"), { once: true });
      }
      runs.add(run);
      const w = watchOf(tenant.tenantId);
      if (!w.base) w.last = { ...start };
      if (!timer) {
        timer = setInterval(tick, TICK_MS);
        timer.unref();
      }
      return {
        signal: run.abort.signal,
        get reason() {
          return run.reason;
        },
        attach(procs) {
          run.procs = procs;
        },
        end: () => {
          if (!runs.delete(run)) return;
          if (liveRuns(tenant.tenantId).length === 0) {
            watches.delete(tenant.tenantId);
            deps.ended(tenant);
          }
          if (runs.size === 0 && timer) {
            clearInterval(timer);
            timer = null;
          }
        },
      };
    },

    close(): void {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
