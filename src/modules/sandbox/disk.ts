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
import { workerSpecifier } from "../../lib/worker.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import { tenantDir, tenantsRoot } from "../tenants/tenant-dirs.ts";
import { describeFilesystem, freeSpace, sameFilesystem, type FilesystemReport, type FreeSpace } from "./disk-fs.ts";
import { measureTree, type TreeCaps, type TreeUsage } from "./disk-usage.ts";
import { DEFAULT_LIMITS, type KilledReason } from "./sandbox.types.ts";

const MiB = 1024 * 1024;
/** How often the free space is checked while runs are live (a statfs: microseconds). */
const TICK_MS = 100;
/** A tenant's directory is walked again no sooner than this, or 3× its last walk (≤ 25% of the worker). */
const MIN_MEASURE_GAP_MS = 200;
const MEASURE_GAP_FACTOR = 3;
/** A kept measurement is trusted this long when no run of the tenant is live. */
const MAX_AGE_MS = 5 * 60_000;

export interface DiskLimits {
  bytes: number;
  inodes: number;
}

interface Measured extends TreeUsage {
  at: number;
  /** The tenant directory's inode: a deleted and re-created (or restored) tenant is measured anew. */
  dirIno: number;
  stale: boolean;
}

interface LiveRun {
  tenantId: string;
  abort: AbortController;
  reason: KilledReason | null;
}

export interface RunGuard {
  /** Aborted when the run must be killed (disk, or the caller's own signal). */
  readonly signal: AbortSignal;
  /** Set when the guard killed the run. */
  readonly reason: KilledReason | null;
  end(): void;
}

const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;

export function createDiskGuard(deps: { home: string; config: () => GatewayConfig; overlays: OverlaysService; log: Logger; stateFiles?: string[] }) {
  const { home, log } = deps;
  const cache = new Map<string, Measured>();
  const inflight = new Map<string, Promise<Measured>>();
  /** Writes recorded while a measurement is in flight: added to its result (it may not have seen them). */
  const sinceMeasure = new Map<string, { bytes: number; entries: number }>();
  const runs = new Map<object, LiveRun>();
  const nextMeasure = new Map<string, number>();
  let timer: ReturnType<typeof setInterval> | null = null;
  let worker: Worker | null = null;
  let seq = 0;
  const pending = new Map<number, { resolve(u: TreeUsage): void; reject(e: Error): void }>();
  let lastReserveWarning = 0;

  const fsPath = () => (fs.existsSync(tenantsRoot(home)) ? tenantsRoot(home) : home);

  function limits(tenantId: string): DiskLimits {
    const c = deps.config();
    const ceiling = { ...DEFAULT_LIMITS, ...c.sandbox.limits };
    const overlay = deps.overlays.current(tenantId).sandbox?.limits ?? {};
    return { bytes: Math.min(ceiling.diskMb, overlay.diskMb ?? Infinity) * MiB, inodes: Math.min(ceiling.inodes, overlay.inodes ?? Infinity) };
  }

  function reserve(): DiskLimits {
    const g = deps.config().gateway;
    return { bytes: g.diskReserveMb * MiB, inodes: g.diskReserveInodes };
  }

  function belowReserve(f: FreeSpace, addBytes = 0, addInodes = 0): boolean {
    const r = reserve();
    return f.bytes - addBytes < r.bytes || f.inodes - addInodes < r.inodes;
  }

  function warnReserve(f: FreeSpace, what: string): void {
    const now = Date.now();
    if (now - lastReserveWarning < 10_000) return;
    lastReserveWarning = now;
    const r = reserve();
    log.warn(`free space under the reserve: ${what}`, { freeBytes: f.bytes, freeInodes: f.inodes, reserveBytes: r.bytes, reserveInodes: r.inodes, path: fsPath() });
  }

  /** Tenants are told only that writes are paused: the host's free space is not theirs to see. */
  function reserveError(): AppError {
    return new AppError("UNAVAILABLE", "the gateway is short of disk space: file writes and sandbox runs are paused until the operator frees some", { headers: { "retry-after": "60" } });
  }

  function checkReserve(addBytes: number, addInodes: number, what: string): void {
    const f = freeSpace(fsPath());
    if (!belowReserve(f, addBytes, addInodes)) return;
    warnReserve(f, what);
    throw reserveError();
  }

  function dirIno(tenantId: string): number {
    return fs.lstatSync(tenantDir(home, tenantId), { throwIfNoEntry: false })?.ino ?? 0;
  }

  function capsFor(lim: DiskLimits): TreeCaps {
    return { maxBytes: lim.bytes, maxEntries: lim.inodes };
  }

  function store(tenantId: string, u: TreeUsage, ino: number): Measured {
    const extra = sinceMeasure.get(tenantId) ?? { bytes: 0, entries: 0 };
    const m: Measured = { ...u, bytes: u.bytes + extra.bytes, entries: u.entries + extra.entries, at: Date.now(), dirIno: ino, stale: false };
    cache.set(tenantId, m);
    return m;
  }

  function walkOnWorker(root: string, caps: TreeCaps): Promise<TreeUsage> {
    if (!worker) {
      const w = new Worker(workerSpecifier("modules/sandbox/disk-usage.worker.ts"));
      w.unref();
      w.addEventListener("message", (ev: MessageEvent<{ id: number; usage?: TreeUsage; error?: string }>) => {
        const p = pending.get(ev.data.id);
        pending.delete(ev.data.id);
        if (ev.data.usage) p?.resolve(ev.data.usage);
        else p?.reject(new Error(ev.data.error ?? "measurement failed"));
      });
      w.addEventListener("error", (e) => {
        log.error("disk worker failed", { error: String(e.message) });
        for (const p of pending.values()) p.reject(new Error("the disk worker failed"));
        pending.clear();
        worker = null;
      });
      worker = w;
    }
    const id = ++seq;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker!.postMessage({ id, root, caps });
    });
  }

  /** A walk that cannot finish (a permission the gateway cannot fix) counts as over the limit. */
  function unreadable(err: unknown): TreeUsage {
    return { bytes: 0, entries: 0, stoppedBy: "unreadable", detail: err instanceof Error ? err.message : String(err), ms: 0 };
  }

  function measure(tenantId: string): Promise<Measured> {
    const running = inflight.get(tenantId);
    if (running) return running;
    const ino = dirIno(tenantId);
    sinceMeasure.set(tenantId, { bytes: 0, entries: 0 });
    const p = walkOnWorker(tenantDir(home, tenantId), capsFor(limits(tenantId)))
      .catch(unreadable)
      .then((u) => store(tenantId, u, ino))
      .finally(() => {
        inflight.delete(tenantId);
        sinceMeasure.delete(tenantId);
      });
    inflight.set(tenantId, p);
    return p;
  }

  function liveRuns(tenantId: string): LiveRun[] {
    return [...runs.values()].filter((r) => r.tenantId === tenantId);
  }

  function fresh(tenantId: string): Measured | null {
    const m = cache.get(tenantId);
    if (!m || m.dirIno !== dirIno(tenantId)) return null;
    if (liveRuns(tenantId).length > 0) return m;
    return !m.stale && Date.now() - m.at < MAX_AGE_MS ? m : null;
  }

  function measureSync(tenantId: string): Measured {
    const ino = dirIno(tenantId);
    let u: TreeUsage;
    try {
      u = measureTree(tenantDir(home, tenantId), capsFor(limits(tenantId)));
    } catch (err) {
      u = unreadable(err);
    }
    return store(tenantId, u, ino);
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

  function kill(run: LiveRun, reason: KilledReason): void {
    if (run.reason) return;
    run.reason = reason;
    run.abort.abort(reason);
  }

  function tick(): void {
    let f: FreeSpace | null = null;
    try {
      f = freeSpace(fsPath());
    } catch (err) {
      log.warn("cannot read the free space of the tenants' filesystem", { error: String(err) });
    }
    if (f && belowReserve(f)) {
      warnReserve(f, "killing every live sandbox run");
      for (const run of runs.values()) kill(run, "disk-reserve");
      return;
    }
    const now = Date.now();
    for (const tenantId of new Set([...runs.values()].map((r) => r.tenantId))) {
      if (inflight.has(tenantId) || now < (nextMeasure.get(tenantId) ?? 0)) continue;
      void measure(tenantId).then((m) => {
        nextMeasure.set(tenantId, Date.now() + Math.max(MIN_MEASURE_GAP_MS, MEASURE_GAP_FACTOR * m.ms));
        const lim = limits(tenantId);
        const why = overBy(m, lim);
        if (!why) return;
        const live = liveRuns(tenantId).filter((r) => !r.reason);
        if (live.length) log.warn("sandbox run killed: the tenant's directory is over its disk limit", { tenant: tenantId, ...usageDetails(m, lim), stoppedBy: m.stoppedBy });
        for (const run of live) kill(run, "disk-limit");
      }).catch((err) => log.error("disk watchdog check failed", { tenant: tenantId, error: String(err) }));
    }
  }

  return {
    limits,
    reserve,

    /** Refuses a write of `addBytes` and `addEntries` new names into the tenant's directory that would not fit. */
    admitWrite(tenantId: string, addBytes: number, addEntries: number): void {
      checkReserve(addBytes, addEntries, "a file write was refused");
      const m = fresh(tenantId) ?? measureSync(tenantId);
      const lim = limits(tenantId);
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
    recordWrite(tenantId: string, bytes: number, entries: number): void {
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
    invalidate(tenantId: string): void {
      const m = cache.get(tenantId);
      if (m) m.stale = true;
    },

    /** Makes sure a recent measurement is kept (off the main thread), so a later check is cheap. */
    async prepare(tenantId: string): Promise<void> {
      if (!fresh(tenantId)) await measure(tenantId);
    },

    /**
     * Starts watching a sandbox run. Refused when the tenant is already over a limit or the disk is
     * under the reserve. The returned signal is aborted when the run must be killed.
     */
    async beginRun(tenantId: string, outer?: AbortSignal): Promise<RunGuard> {
      checkReserve(0, 0, "a sandbox run was refused");
      const m = fresh(tenantId) ?? (await measure(tenantId));
      const lim = limits(tenantId);
      const over = overBy(m, lim);
      if (over) throw new AppError("QUOTA_EXCEEDED", `the tenant's directory is over its disk limit: ${over}; delete files (files.delete) before running`, { details: usageDetails(m, lim) });
      const key = {};
      const run: LiveRun = { tenantId, abort: new AbortController(), reason: null };
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
            void measure(tenantId).catch(() => {});
          }
          if (runs.size === 0 && timer) {
            clearInterval(timer);
            timer = null;
          }
        },
      };
    },

    /**
     * A checker for a restore into `tenantId`: called before each entry of the tenant's directory is
     * written, with its size; refuses past the gateway's ceilings (the overlay that could lower them
     * is part of what is being restored) or under the reserve.
     */
    restoreGuard(): (e: { size: number; dir: boolean }) => void {
      const c = { ...DEFAULT_LIMITS, ...deps.config().sandbox.limits };
      const lim = { bytes: c.diskMb * MiB, inodes: c.inodes };
      let bytes = 0;
      let entries = 0;
      let sinceCheck = Infinity;
      return (e) => {
        const alloc = Math.ceil(Math.max(e.size, 1) / 4096) * 4096;
        bytes += alloc;
        entries++;
        if (bytes > lim.bytes || entries > lim.inodes) {
          throw new AppError("QUOTA_EXCEEDED", `the archive's tenant directory is larger than a tenant may hold (${mib(lim.bytes)} and ${lim.inodes} files and directories: sandbox.limits.diskMb and .inodes)`);
        }
        sinceCheck += alloc;
        if (sinceCheck >= 16 * MiB || entries % 1024 === 0) {
          sinceCheck = 0;
          const f = freeSpace(fsPath());
          if (belowReserve(f, alloc + 16 * MiB, 1024)) {
            warnReserve(f, "a restore was refused");
            throw new AppError("UNAVAILABLE", "the restore would take the gateway's filesystem under its reserve (gateway.diskReserveMb / diskReserveInodes)");
          }
        }
      };
    },

    /** The tenant's usage and limits as last measured (measured now if nothing recent is kept). */
    async view(tenantId: string) {
      await this.prepare(tenantId);
      const m = cache.get(tenantId)!;
      const lim = limits(tenantId);
      return { ...usageDetails(m, lim), measuredAt: new Date(m.at).toISOString(), overLimit: overBy(m, lim) !== null };
    },

    forget(tenantId: string): void {
      cache.delete(tenantId);
    },

    /** What `doctor` and `sandbox status` show: the mechanism, the filesystem, the reserve. */
    status(): DiskStatus {
      const p = fsPath();
      const f = freeSpace(p);
      const c = { ...DEFAULT_LIMITS, ...deps.config().sandbox.limits };
      const state = deps.stateFiles ?? [home];
      return {
        mechanism: "watchdog",
        detail:
          "files.write and restore are checked before writing; sandbox runs are watched (free space every 100 ms, the tenant's directory every 200 ms or more) and killed past a limit; inside sandboxes fallocate is refused and no file may grow past the tenant's limit",
        filesystem: describeFilesystem(p),
        sharedWithState: state.some((s) => sameFilesystem(p, s)),
        free: f,
        reserve: reserve(),
        belowReserve: belowReserve(f),
        ceilings: { diskMb: c.diskMb, inodes: c.inodes },
      };
    },

    close(): void {
      if (timer) clearInterval(timer);
      timer = null;
      worker?.terminate();
      worker = null;
    },
  };
}

export interface DiskStatus {
  mechanism: "watchdog";
  detail: string;
  filesystem: FilesystemReport;
  sharedWithState: boolean;
  free: FreeSpace;
  reserve: DiskLimits;
  belowReserve: boolean;
  ceilings: { diskMb: number; inodes: number };
}

export type DiskGuard = ReturnType<typeof createDiskGuard>;

/** Bytes a file of `size` bytes is likely to take (whole 4 KiB blocks); used before the write. */
export function allocated(size: number): number {
  return Math.ceil(size / 4096) * 4096;
}
