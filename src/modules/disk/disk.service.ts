// Disk limits per tenant, and the reserve that keeps the gateway's own state (state.db, audit.log)
// from starving. A tenant's directory (workspace included) may hold at most `sandbox.limits.diskMb`
// of allocated space and `sandbox.limits.inodes` names, counting the unlinked files its live runs
// hold open. Everything that writes there goes through here: `files.write` and restore are checked
// before they write (admitWrite / restoreGuard), and a sandbox run is watched while it lives
// (beginRun, ./disk-watch.ts). Below the reserve every tenant-initiated change is refused
// (assertTenantWritable); the operator's still proceed. Measurements run on a worker thread
// (disk-usage.worker.ts) and are kept per tenant, adjusted by the gateway's own writes, and taken
// again after every run. See README "Disk limits and the reserve".
import fs from "node:fs";
import type { GatewayConfig } from "../../config/schema.ts";
import { AppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import { tenantDir } from "../../lib/tenant-dirs.ts";
import { createReserve, MiB, mib, type DiskLimits, type DiskStatus } from "./disk-reserve.ts";
import { DiskWorker, measureTree, type TreeCaps, type TreeUsage } from "./disk-usage.ts";
import { createDiskWatch, type DiskKill, type RunGuard, type Usage } from "./disk-watch.ts";
import { tenantsRoot } from "../../lib/tenant-dirs.ts";
import { MAX_TREE_DEPTH } from "../../lib/tree-walk.ts";
import { sandboxCeilings } from "../../config/sandbox-limits.ts";

export type { DiskKill, DiskLimits, DiskStatus, RunGuard };
export type { RunProcs } from "./held-files.ts";
/** A kept measurement is trusted this long when no run of the tenant is live. */
const MAX_AGE_MS = 5 * 60_000;

interface Measured extends TreeUsage {
  at: number;
  /** The tenant directory's inode: a deleted and re-created (or restored) tenant is measured anew. */
  dirIno: number;
  stale: boolean;
}

export function createDiskGuard(deps: { home: string; config: () => GatewayConfig; overlays: OverlaysService; log: Logger; stateFiles?: string[] }) {
  const { home, log } = deps;
  const cache = new Map<string, Measured>();
  const inflight = new Map<string, Promise<Measured>>();
  /** Writes recorded while a measurement is in flight: added to its result (it may not have seen them). */
  const sinceMeasure = new Map<string, { bytes: number; entries: number }>();
  /** Bumped by invalidate(): a measurement that began before it is kept as stale. */
  const generation = new Map<string, number>();
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

  function fresh(tenant: TenantScope): Measured | null {
    const { tenantId } = tenant;
    const m = cache.get(tenantId);
    if (!m || m.dirIno !== dirIno(tenantId)) return null;
    if (watch.liveCount(tenantId) > 0) return m;
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

  function overBy(m: Usage, lim: DiskLimits): string | null {
    if (m.stoppedBy === "depth") return `a directory is nested more than ${MAX_TREE_DEPTH} levels deep (${JSON.stringify((m.detail ?? "").slice(0, 200))})`;
    if (m.stoppedBy === "unreadable") return `part of it cannot be read to measure it (${m.detail})`;
    // A walk stopped at a cap has counted just past it: the rest was not looked at.
    if (m.bytes > lim.bytes) return m.stoppedBy ? `it holds more than its limit of ${mib(lim.bytes)} (sandbox.limits.diskMb)` : `it holds ${mib(m.bytes)}, over its limit of ${mib(lim.bytes)} (sandbox.limits.diskMb)`;
    if (m.entries > lim.inodes) return m.stoppedBy ? `it holds more than its limit of ${lim.inodes} files and directories (sandbox.limits.inodes)` : `it holds ${m.entries} files and directories, over its limit of ${lim.inodes} (sandbox.limits.inodes)`;
    return null;
  }

  function usageDetails(m: Usage, lim: DiskLimits) {
    return { usedBytes: m.bytes, limitBytes: lim.bytes, usedInodes: m.entries, limitInodes: lim.inodes };
  }

  /** The directory as measured, plus the unlinked files the tenant's live runs hold (last counted). */
  function withHeld(tenantId: string, m: Measured): Usage {
    const h = watch.heldOf(tenantId);
    return { bytes: m.bytes + h.bytes, entries: m.entries + h.files, stoppedBy: m.stoppedBy, detail: m.detail };
  }

  function refuseOver(tenant: TenantScope, m: Measured, what: string): void {
    const u = withHeld(tenant.tenantId, m);
    const lim = limits(tenant);
    const over = overBy(u, lim);
    if (over) throw new AppError("QUOTA_EXCEEDED", `the tenant's directory is over its disk limit: ${over}; delete files (files.delete) before ${what}`, { details: usageDetails(u, lim) });
  }

  const watch = createDiskWatch({
    log,
    reserve,
    limits,
    measure,
    current: (tenantId) => cache.get(tenantId) ?? null,
    overBy,
    device: () => fs.statSync(tenantsRoot(home)).dev,
    ended(tenant) {
      // What the run left is measured now, so the next write or run need not wait for it.
      const m = cache.get(tenant.tenantId);
      if (m) m.stale = true;
      Promise.resolve()
        .then(() => measure(tenant))
        .catch((err) => log.warn("could not measure a tenant's directory after a run", { tenant: tenant.tenantId, error: String(err) }));
    },
  });

  return {
    limits,
    reserve: reserve.amount,

    /** Refuses a write of `addBytes` and `addEntries` new names into the tenant's directory that would not fit. */
    admitWrite(tenant: TenantScope, addBytes: number, addEntries: number): void {
      reserve.check(addBytes, addEntries, "a file write was refused");
      reserve.assertTenantWritable("a file write was refused");
      const m = withHeld(tenant.tenantId, fresh(tenant) ?? measureSync(tenant));
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
     * Refuses a change a tenant asked for (a file write, a run, a config change, a token, a backup)
     * while a filesystem holding the gateway's state is under the reserve: each such change writes an
     * audit record, a state.db row or tenant files. The operator's changes may use the reserve.
     */
    assertTenantWritable: reserve.assertTenantWritable,

    /** Refuses (QUOTA_EXCEEDED, naming why) while the tenant is over a disk limit; measured now if need be. */
    async assertUnderLimits(tenant: TenantScope, what: string): Promise<void> {
      refuseOver(tenant, fresh(tenant) ?? (await measureFresh(tenant)), what);
    },

    /**
     * Starts watching a sandbox run. Refused when the tenant is already over a limit or the disk is
     * under the reserve. The returned signal is aborted when the run must be killed; `attach` tells
     * the watchdog the run's processes (their unlinked files count against the tenant).
     */
    async beginRun(tenant: TenantScope, outer?: AbortSignal): Promise<RunGuard> {
      reserve.assertTenantWritable("a sandbox run was refused");
      const m = fresh(tenant) ?? (await measureFresh(tenant));
      refuseOver(tenant, m, "running");
      return watch.begin(tenant, { bytes: m.bytes, entries: m.entries }, outer);
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
      watch.close();
      worker.close();
    },
  };
}

export type DiskGuard = ReturnType<typeof createDiskGuard>;

/** Bytes a file of `size` bytes is likely to take (whole 4 KiB blocks); used before the write. */
export function allocated(size: number): number {
  return Math.ceil(size / 4096) * 4096;
}
