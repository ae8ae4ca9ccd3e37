// What the filesystem under the tenants' directories is and how much room it has: free bytes and
// inodes as an unprivileged writer sees them (statfs f_bavail/f_ffree), and which mount it is, with
// whether project quotas are on (ext4 `prjquota`, XFS `prjquota`/`pquota`/`pqnoenforce`), so
// `doctor` can say what the host offers.
import fs from "node:fs";
import path from "node:path";

export interface FreeSpace {
  bytes: number;
  inodes: number;
  totalBytes: number;
}

export function freeSpace(p: string): FreeSpace {
  const s = fs.statfsSync(p);
  return { bytes: s.bavail * s.bsize, inodes: s.ffree, totalBytes: s.blocks * s.bsize };
}

const FS_TYPES: Record<number, string> = {
  0xef53: "ext4",
  0x58465342: "xfs",
  0x9123683e: "btrfs",
  0x01021994: "tmpfs",
  0x794c7630: "overlay",
  0x2fc12fc1: "zfs",
  0x6969: "nfs",
};

export interface MountInfo {
  mountPoint: string;
  source: string;
  fsType: string;
  superOptions: string[];
}

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The mount holding `p`: the longest mount point above it on the same device (from mountinfo). */
export function mountOf(p: string, mountinfo?: string): MountInfo | null {
  let text: string;
  let real: string;
  let dev: bigint;
  try {
    text = mountinfo ?? fs.readFileSync("/proc/self/mountinfo", "utf8");
    real = fs.realpathSync(p);
    dev = fs.statSync(real, { bigint: true }).dev;
  } catch {
    return null;
  }
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  const devText = `${major}:${minor}`;
  let best: MountInfo | null = null;
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    const sep = f.indexOf("-");
    if (sep < 6 || f[2] !== devText) continue;
    const mountPoint = unescape(f[4]!);
    const under = mountPoint === "/" || real === mountPoint || real.startsWith(`${mountPoint}/`);
    if (!under || (best && best.mountPoint.length > mountPoint.length)) continue;
    best = { mountPoint, source: unescape(f[sep + 2] ?? ""), fsType: f[sep + 1] ?? "", superOptions: (f[sep + 3] ?? "").split(",") };
  }
  return best;
}

export interface FilesystemReport {
  path: string;
  fsType: string;
  mountPoint: string | null;
  source: string | null;
  /** Whether the mount has project quotas on, and what that means here. */
  projectQuota: { mounted: boolean; detail: string };
}

export function describeFilesystem(p: string, mountinfo?: string): FilesystemReport {
  const m = mountOf(p, mountinfo);
  let fsType = m?.fsType ?? "unknown";
  try {
    fsType = m?.fsType || FS_TYPES[fs.statfsSync(p).type] || fsType;
  } catch {
    // keep what mountinfo said
  }
  const quotaOpts = (m?.superOptions ?? []).filter((o) => ["prjquota", "pquota", "pqnoenforce", "prjjquota"].includes(o));
  const where = m ? `${m.source} (${fsType}) at ${m.mountPoint}` : `${path.resolve(p)} (${fsType})`;
  const projectQuota = quotaOpts.length
    ? { mounted: true, detail: `${where} is mounted with ${quotaOpts.join(",")}; the gateway does not use project quotas (see README "Disk limits and the reserve") and enforces the limits itself` }
    : { mounted: false, detail: `${where} is not mounted with project quotas (prjquota/pquota)` };
  return { path: p, fsType, mountPoint: m?.mountPoint ?? null, source: m?.source ?? null, projectQuota };
}

/** True when two paths are on the same filesystem (device). */
export function sameFilesystem(a: string, b: string): boolean {
  try {
    return fs.statSync(a).dev === fs.statSync(b).dev;
  } catch {
    return true;
  }
}
