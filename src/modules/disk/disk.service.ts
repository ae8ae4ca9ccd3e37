// Disk limits per tenant, and the reserve that keeps the gateway's own state (state.db, audit.log)
// from starving. A tenant's directory (workspace included) may hold at most `sandbox.limits.diskMb`
// of allocated space and `sandbox.limits.inodes` names. Everything that writes there goes through
// here: `files.write` and restore are checked before they write (admitWrite / restoreGuard), and a
// sandbox run is watched while it lives (beginRun): the free space of the filesystem every 100 ms,
// the tenant's directory as often as its size allows; a run that takes its tenant past a limit, or
// the filesystem under the reserve, is killed. Below the reserve every tenant write is refused.
// Measurements run on a worker thread (disk-usage.worker.ts) and are kept per tenant, adjusted by
// the gateway's own writes, and taken again after every run. See README "Disk limits and the reserve".
import fs from "node:fs";
import type { GatewayConfig } from "../../config/schema.ts";
import { AppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import { tenantDir } from "../../lib/tenant-dirs.ts";
import { createReserve, MiB, mib, type DiskLimits, type DiskStatus } from "./disk-reserve.ts";
import { DiskWorker, measureTree, type TreeCaps, type TreeUsage } from "./disk-usage.ts";
import { sandboxCeilings } from "../../config/sandbox-limits.ts";

export type { DiskLimits, DiskStatus };

/** Why the guard killed a sandbox run: the tenant went past its limit, or the disk under the reserve. */
export type DiskKill = "disk-limit" | "disk-reserve";

/** How often the free space is checked while runs are live (a statfs: microseconds). */
const TICK_MS = 100;
/** A tenant's directory is walked again no sooner than this, or 3× its last walk (≤ 25% of the worker). */
const MIN_MEASURE_GAP_MS = 200;
const MEASURE_GAP_FACTOR = 3;
/** A kept measurement is trusted this long when no run of the tenant is live. */
const MAX_AGE_MS = 5 * 60_000;

interface Measured extends TreeUsage {
  at: number;
  /** The tenant directory's inode: a deleted and re-created (or restored) tenant is measured anew. */
  dirIno: number;
  stale: boolean;
}

interface LiveRun {
  tenant: TenantScope;
  abort: AbortController;
  reason: DiskKill | null;
}

export interface RunGuard {
  /** Aborted when the run must be killed (disk, or the caller's own signal). */
  readonly signal: AbortSignal;
  /** Set when the guard killed the run. */
  readonly reason: DiskKill | null;
  end(): void;
}

export function createDiskGuard(deps: { home: string; config: () => GatewayConfig; overlays: OverlaysService; log: Logger; stateFiles?: string[] }) {
  const { home, log } = deps;
  const cache = new Map<string, Measured>();
  const inflight = new Map<string, Promise<Measured>>();
  /** Writes recorded while a measurement is in flight: added to its result (it may not have seen them). */
  const sinceMeasure = new Map<string, { bytes: number; entries: number }>();
  const runs = new Map<object, LiveRun>();
  const nextMeasure = new Map<string, number>();
  /** Bumped by invalidate(): a measurement that began before it is kept as stale. */
  const generation = new Map<string, number>();
  let timer: ReturnType<typeof setInterval> | null = null;
  const worker = new DiskWorker((error) => log.error("disk worker failed", { error }));
  const reserve = createReserve(deps);

  function limits(tenant: TenantScope): DiskLimits {
    const c = deps.config();
    const ceiling = sandboxCeilings(c);
    const overlay = deps.overlays.current(tenant).sandbox?.limits ?? {};
    return { bytes: Math.min(ceiling.diskMb, overlay.diskMb ?? Infinity) * MiB, inodes: Math.min(ceiling.inodes, overlay.inodes ?? Infinity) };
  }

  function dirIno(tenantId: string): number {
    return fs.lstatSync(tenantDir(home, tenantId), { throwIfNoEntry: false })?.ino ?? 0;
  }

  function capsFor(lim: DiskLimits): TreeCaps {
    return { maxBytes: lim.bytes, maxEntries: lim.inodes };
  }

  function store(tenantId: string, u: TreeUsage, ino: number, gen: number): Measured {
    const extra = sinceMeasure.get(tenantId) ?? { bytes: 0, entries: 0 };
    const stale = (generation.get(tenantId) ?? 0) !== gen;
    const m: Measured = { ...u, bytes: u.bytes + extra.bytes, entries: u.entries + extra.entries, at: Date.now(), dirIno: ino, stale };
    cache.set(tenantId, m);
    return m;
  }

  /** A walk that cannot finish (a permission the gateway cannot fix) counts as over the limit. */
  function unreadable(err: unknown): TreeUsage {
    return { bytes: 0, entries: 0, stoppedBy: "unreadable", detail: err instanceof Error ? err.message : String(err), ms: 0 };
  }

  function measure(tenant: TenantScope): Promise<Measured> {
    const { tenantId } = tenant;
    const running = inflight.get(tenantId);
    if (running) return running;
    const ino = dirIno(tenantId);
    const gen = generation.get(tenantId) ?? 0;
    sinceMeasure.set(tenantId, { bytes: 0, entries: 0 });
    const p = worker
      .walk(tenantDir(home, tenantId), capsFor(limits(tenant)))
      .catch(unreadable)
      .then((u) => store(tenantId, u, ino, gen))
      .finally(() => {
        inflight.delete(tenantId);
        sinceMeasure.delete(tenantId);
      });
    inflight.set(tenantId, p);
    return p;
  }

  /** A measurement that began after the last invalidate(): an in-flight older one is waited out first. */
  async function measureFresh(tenant: TenantScope): Promise<Measured> {
    const m = await measure(tenant);
    return m.stale ? measure(tenant) : m;
  }

  function liveRuns(tenantId: string): LiveRun[] {
    return [...runs.values()].filter((r) => r.tenant.tenantId === tenantId);
  }

  function fresh(tenant: TenantScope): Measured | null {
    const { tenantId } = tenant;
    const m = cache.get(tenantId);
    if (!m || m.dirIno !== dirIno(tenantId)) return null;
    if (liveRuns(tenantId).length > 0) return m;
    return !m.stale && Date.now() - m.at < MAX_AGE_MS ? m : null;
  }

  function measureSync(tenant: TenantScope): Measured {
    const { tenantId } = tenant;
    const ino = dirIno(tenantId);
    const gen = generation.get(tenantId) ?? 0;
    let u: TreeUsage;
    try {
      u = measureTree(tenantDir(home, tenantId), capsFor(limits(tenant)));
    } catch (err) {
      u = unreadable(err);
    }
    return store(tenantId, u, ino, gen);
  }

  function overBy(m: Measured, lim: DiskLimits): string | null {
    if (m.stoppedBy === "depth") return `a directory is nested more than 256 levels deep (${JSON.stringify(m.detail)})`;
    if (m.stoppedBy === "unreadable") return `part of it cannot be read to measure it (${m.detail})`;
    // A walk stopped at a cap has counted just past it: the rest was not looked at.
    if (m.bytes > lim.bytes) return m.stoppedBy ? `it holds more than its limit of ${mib(lim.bytes)} (sandbox.limits.diskMb)` : `it holds ${mib(m.bytes)}, over its limit of ${mib(lim.bytes)} (sandbox.limits.diskMb)`;
    if (m.entries > lim.inodes) return m.stoppedBy ? `it holds more than its limit of ${lim.inodes} files and directories (sandbox.limits.inodes)` : `it holds ${m.entries} files and directories, over its limit of ${lim.inodes} (sandbox.limits.inodes)`;
    return null;
  }

  function usageDetails(m: Measured, lim: DiskLimits) {
    return { usedBytes: m.bytes, limitBytes: lim.bytes, usedInodes: m.entries, limitInodes: lim.inodes };
  }

  function kill(run: LiveRun, reason: DiskKill): void {
    if (run.reason) return;
    run.reason = reason;
    run.abort.abort(reason);
  }

  function tick(): void {
    let f: ReturnType<typeof reserve.free> | null = null;
    try {
      f = reserve.free();
    } catch (err) {
      log.warn("cannot read the free space of the tenants' filesystem", { error: String(err) });
    }
    if (f && reserve.below(f)) {
      reserve.warn(f, "killing every live sandbox run");
      for (const run of runs.values()) kill(run, "disk-reserve");
      return;
    }
    const now = Date.now();
    for (const tenant of new Map([...runs.values()].map((r) => [r.tenant.tenantId, r.tenant])).values()) {
      const { tenantId } = tenant;
      if (inflight.has(tenantId) || now < (nextMeasure.get(tenantId) ?? 0)) continue;
      Promise.resolve()
        .then(() => measure(tenant))
        .then((m) => {
          nextMeasure.set(tenantId, Date.now() + Math.max(MIN_MEASURE_GAP_MS, MEASURE_GAP_FACTOR * m.ms));
          const lim = limits(tenant);
          if (!overBy(m, lim)) return;
          const live = liveRuns(tenantId).filter((r) => !r.reason);
          if (live.length) log.warn("sandbox run killed: the tenant's directory is over its disk limit", { tenant: tenantId, ...usageDetails(m, lim), stoppedBy: m.stoppedBy });
          for (const run of live) kill(run, "disk-limit");
        })
        .catch((err) => log.error("disk watchdog check failed", { tenant: tenantId, error: String(err) }));
    }
  }

  return {
    limits,
    reserve: reserve.amount,

    /** Refuses a write of `addBytes` and `addEntries` new names into the tenant's directory that would not fit. */
    admitWrite(tenant: TenantScope, addBytes: number, addEntries: number): void {
      reserve.check(addBytes, addEntries, "a file write was refused");
      const m = fresh(tenant) ?? measureSync(tenant);
      const lim = limits(tenant);
      const over = overBy(m, lim);
      if (over) throw new AppError("QUOTA_EXCEEDED", `the tenant's directory is over its disk limit: ${over}; delete files to make room`, { details: usageDetails(m, lim) });
      if (m.bytes + addBytes > lim.bytes) {
        throw new AppError("QUOTA_EXCEEDED", `this write (${mib(addBytes)}) would take the tenant's directory past its disk limit: ${mib(m.bytes)} used of ${mib(lim.bytes)} (sandbox.limits.diskMb)`, { details: usageDetails(m, lim) });
      }
      if (m.entries + addEntries > lim.inodes) {
        throw new AppError("QUOTA_EXCEEDED", `this write would take the tenant's directory past its limit of ${lim.inodes} files and directories (sandbox.limits.inodes); it holds ${m.entries}`, { details: usageDetails(m, lim) });
      }
    },

    /** What a write the gateway made changed (allocated bytes, names), so the kept figure stays right. */
    recordWrite({ tenantId }: TenantScope, bytes: number, entries: number): void {
      const m = cache.get(tenantId);
      if (m) {
        m.bytes = Math.max(0, m.bytes + bytes);
        m.entries = Math.max(0, m.entries + entries);
      }
      const s = sinceMeasure.get(tenantId);
      if (s) {
        s.bytes += bytes;
        s.entries += entries;
      }
    },

    /** The tenant's directory changed in a way not recorded (delete, restore): measure it again. */
    invalidate({ tenantId }: TenantScope): void {
      generation.set(tenantId, (generation.get(tenantId) ?? 0) + 1);
      const m = cache.get(tenantId);
      if (m) m.stale = true;
    },

    /** Makes sure a recent measurement is kept (off the main thread), so a later check is cheap. */
    async prepare(tenant: TenantScope): Promise<void> {
      if (!fresh(tenant)) await measureFresh(tenant);
    },

    /**
     * Starts watching a sandbox run. Refused when the tenant is already over a limit or the disk is
     * under the reserve. The returned signal is aborted when the run must be killed.
     */
    async beginRun(tenant: TenantScope, outer?: AbortSignal): Promise<RunGuard> {
      const { tenantId } = tenant;
      reserve.check(0, 0, "a sandbox run was refused");
      const m = fresh(tenant) ?? (await measureFresh(tenant));
      const lim = limits(tenant);
      const over = overBy(m, lim);
      if (over) throw new AppError("QUOTA_EXCEEDED", `the tenant's directory is over its disk limit: ${over}; delete files (files.delete) before running`, { details: usageDetails(m, lim) });
      const key = {};
      const run: LiveRun = { tenant, abort: new AbortController(), reason: null };
      if (outer) {
        if (outer.aborted) run.abort.abort("aborted");
        else outer.addEventListener("abort", () => run.abort.abort("aborted"), { once: true });
      }
      runs.set(key, run);
      if (!timer) {
        timer = setInterval(tick, TICK_MS);
        timer.unref();
      }
      return {
        signal: run.abort.signal,
        get reason() {
          return run.reason;
        },
        end: () => {
          if (!runs.delete(key)) return;
          if (liveRuns(tenantId).length === 0) {
            nextMeasure.delete(tenantId);
            // What the run left is measured now, so the next write or run need not wait for it.
            const m = cache.get(tenantId);
            if (m) m.stale = true;
            Promise.resolve()
              .then(() => measure(tenant))
              .catch((err) => log.warn("could not measure a tenant's directory after a run", { tenant: tenantId, error: String(err) }));
          }
          if (runs.size === 0 && timer) {
            clearInterval(timer);
            timer = null;
          }
        },
      };
    },

    /** A checker for one restore into a tenant's directory (see disk-reserve.ts). */
    restoreGuard: reserve.restoreGuard,

    /** The tenant's usage and limits as last measured (measured now if nothing recent is kept). */
    async view(tenant: TenantScope) {
      await this.prepare(tenant);
      const m = cache.get(tenant.tenantId)!;
      const lim = limits(tenant);
      return { ...usageDetails(m, lim), measuredAt: new Date(m.at).toISOString(), overLimit: overBy(m, lim) !== null };
    },

    forget({ tenantId }: TenantScope): void {
      cache.delete(tenantId);
    },

    /** What `doctor` and `sandbox status` show: the mechanism, the filesystem, the reserve. */
    status: (): DiskStatus => reserve.status(),

    close(): void {
      if (timer) clearInterval(timer);
      timer = null;
      worker.close();
    },
  };
}

export type DiskGuard = ReturnType<typeof createDiskGuard>;

/** Bytes a file of `size` bytes is likely to take (whole 4 KiB blocks); used before the write. */
export function allocated(size: number): number {
  return Math.ceil(size / 4096) * 4096;
}
