// The reserve: free space (bytes and inodes) on the tenants' filesystem that tenant writes may never
// take, so the gateway's own state — state.db, audit.log, both fail-closed — always has room. Below
// it, every change a tenant asks for is refused and the sandbox run that grew most is killed
// (disk-watch.ts); a restore is refused before it would reach it. Tenants are only told that changes
// are paused: the host's free space is not theirs to see. The operator sees the figures in the log, `doctor` and `sandbox status`.
import fs from "node:fs";
import type { GatewayConfig } from "../../config/schema.ts";
import { AppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import { tenantsRoot } from "../../lib/tenant-dirs.ts";
import { describeFilesystem, freeSpace, sameFilesystem, type FilesystemReport, type FreeSpace } from "./disk-fs.ts";
import { sandboxCeilings } from "../../config/sandbox-limits.ts";

export const MiB = 1024 * 1024;
export const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;

export interface DiskLimits {
  bytes: number;
  inodes: number;
}

export interface DiskStatus {
  mechanism: "watchdog";
  detail: string;
  filesystem: FilesystemReport;
  /** Whether the tenants' filesystem also holds state.db or the audit log (the reserve's reason). */
  sharedWithState: boolean;
  free: FreeSpace;
  reserve: DiskLimits;
  belowReserve: boolean;
  ceilings: { diskMb: number; inodes: number };
}

/** What a tenant is told: changes wait; the host's free space is not theirs to see. */
export const SHORT_OF_SPACE = "the gateway is short of disk space: changes by tenants (file writes, sandbox runs, config, tokens, backups) are paused until the operator frees some";
const shortOfSpace = () => new AppError("UNAVAILABLE", SHORT_OF_SPACE, { headers: { "retry-after": "60" } });

export function createReserve(deps: { home: string; config: () => GatewayConfig; log: Logger; stateFiles?: string[] }) {
  const { home, log } = deps;
  let lastWarning = 0;
  const fsPath = () => (fs.existsSync(tenantsRoot(home)) ? tenantsRoot(home) : home);

  function amount(): DiskLimits {
    const g = deps.config().gateway;
    return { bytes: g.diskReserveMb * MiB, inodes: g.diskReserveInodes };
  }

  function below(f: FreeSpace, addBytes = 0, addInodes = 0): boolean {
    const r = amount();
    return f.bytes - addBytes < r.bytes || f.inodes - addInodes < r.inodes;
  }

  function warn(f: FreeSpace, what: string): void {
    const now = Date.now();
    if (now - lastWarning < 10_000) return;
    lastWarning = now;
    const r = amount();
    log.warn(`free space under the reserve: ${what}`, { freeBytes: f.bytes, freeInodes: f.inodes, reserveBytes: r.bytes, reserveInodes: r.inodes, path: fsPath() });
  }

  /** One path per filesystem the reserve protects: the tenants', and the state's where it is another. */
  function watched(): string[] {
    const out: string[] = [];
    const devs = new Set<number>();
    for (const p of [fsPath(), ...(deps.stateFiles ?? [home])]) {
      try {
        const dev = fs.statSync(p).dev;
        if (devs.has(dev)) continue;
        devs.add(dev);
        out.push(p);
      } catch {
        // not there yet
      }
    }
    return out;
  }

  return {
    amount,
    free: () => freeSpace(fsPath()),
    below,
    warn,

    /** Refuses a tenant write of this size that would take the filesystem under the reserve. */
    check(addBytes: number, addInodes: number, what: string): void {
      const f = freeSpace(fsPath());
      if (!below(f, addBytes, addInodes)) return;
      warn(f, what);
      throw shortOfSpace();
    },

    /**
     * Refuses a tenant-initiated change while any filesystem holding the gateway's own state (the
     * tenants' directories, state.db, the audit log) is under the reserve: each such change writes an
     * audit record, a state.db row or tenant files, and a flood of them once filled the disk until the
     * operator's own changes failed. The operator's changes (CLI, admin API) are not held to this.
     */
    assertTenantWritable(what = "a tenant's change was refused"): void {
      for (const p of watched()) {
        const f = freeSpace(p);
        if (!below(f)) continue;
        warn(f, `${what} (${p})`);
        throw shortOfSpace();
      }
    },

    /**
     * A checker for one restore, called before each entry of the tenant's directory is written: refuses
     * past the gateway's ceilings (the overlay that could lower them is part of what is restored) and
     * before the filesystem would go under the reserve (checked every 16 MiB or 1024 entries, with that
     * much headroom).
     */
    restoreGuard(): (e: { size: number; dir: boolean }) => void {
      const c = sandboxCeilings(deps.config());
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
          if (below(f, alloc + 16 * MiB, 1024)) {
            warn(f, "a restore was refused");
            throw new AppError("UNAVAILABLE", "the restore would take the gateway's filesystem under its reserve (gateway.diskReserveMb / diskReserveInodes)");
          }
        }
      };
    },

    /** What `doctor` and `sandbox status` show: the mechanism, the filesystem, the reserve. */
    status(): DiskStatus {
      const p = fsPath();
      const f = freeSpace(p);
      const c = sandboxCeilings(deps.config());
      return {
        mechanism: "watchdog",
        detail:
          "files.write and restore are checked before writing; sandbox runs are watched (free space every 25 ms, the tenant's directory every 50 ms or more, at once when the space lost could have taken it past its limit, with the unlinked files its runs hold open) and killed past a limit; inside sandboxes fallocate is refused and no file may grow past the tenant's limit",
        filesystem: describeFilesystem(p),
        sharedWithState: (deps.stateFiles ?? [home]).some((s) => sameFilesystem(p, s)),
        free: f,
        reserve: amount(),
        belowReserve: below(f),
        ceilings: { diskMb: c.diskMb, inodes: c.inodes },
      };
    },
  };
}
