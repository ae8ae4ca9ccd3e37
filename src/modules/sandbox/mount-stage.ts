// Root gateway only: each checked mount source is bound from its descriptor — open_tree clones the
// descriptor's mount, mount_setattr makes it read-only, nosuid, nodev and id-mapped, move_mount
// attaches it — onto an entry of a staging directory, <home>/run/mnt/<pid>-<run>/<n>, that only root
// can reach. bwrap's stage script and dockerd bind that entry; nothing on its path can be changed by
// a tenant. The id-mapping shows files owned by root as owned by the sandbox user, so the mount is
// readable inside although the tenant directory is root's and 0700. Where the file system refuses
// id-mapped mounts (overlayfs, NFS, Linux before 5.12) the checked source is copied into a read-only
// tmpfs for the run instead (./mount-copy.ts), which shows the same owners: readable everywhere.
import fs from "node:fs";
import path from "node:path";
import { AppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import {
  MOUNT_ATTR_IDMAP,
  MOUNT_ATTR_NODEV,
  MOUNT_ATTR_NOSUID,
  MOUNT_ATTR_RDONLY,
  MountApiError,
  mountSetattr,
  moveMount,
  O_CLOEXEC,
  O_PATH,
  openTreeClone,
  tmpfsDetached,
  umountDetach,
} from "../../lib/mount-api.ts";
import { COPY_LIMITS, copyToTmpfs, newCopyBudget } from "./mount-copy.ts";
import type { SandboxIdentity } from "./sandbox.types.ts";
import { processAlive } from "../../lib/pid.ts";

export interface Staged {
  paths: string[];
  release(): void;
}

const usernsFds = new Map<string, number | null>();
let swept = false;

/**
 * A user namespace whose only mapping is root → the sandbox user, made once per process: a child
 * unshares it, we write its maps and keep a descriptor of it, and the child exits.
 */
async function idmapUserns(identity: SandboxIdentity, unsharePath: string | null, log: Logger): Promise<number | null> {
  const key = `${identity.uid}:${identity.gid}`;
  if (usernsFds.has(key)) return usernsFds.get(key)!;
  let fd: number | null = null;
  if (unsharePath) {
    const child = Bun.spawn([unsharePath, "--user", "--", "/bin/sh", "-c", "read _"], { stdin: "pipe", stdout: "ignore", stderr: "ignore", cwd: "/", env: { PATH: "/usr/bin:/bin" } });
    try {
      const mine = fs.readlinkSync("/proc/self/ns/user");
      for (let i = 0; i < 500 && fs.readlinkSync(`/proc/${child.pid}/ns/user`) === mine; i++) await Bun.sleep(2);
      fs.writeFileSync(`/proc/${child.pid}/uid_map`, `0 ${identity.uid} 1\n`);
      fs.writeFileSync(`/proc/${child.pid}/gid_map`, `0 ${identity.gid} 1\n`);
      fd = fs.openSync(`/proc/${child.pid}/ns/user`, "r");
    } catch (err) {
      log.warn("cannot make the user namespace for id-mapped sandbox mounts", { error: String(err) });
    } finally {
      child.stdin.end();
      child.kill();
    }
  }
  usernsFds.set(key, fd);
  return fd;
}

/** Unmounts and removes one staging directory; never recursive, so a mount still in place is kept, not emptied. */
function removeStaging(dir: string, log: Logger): void {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const p = path.join(dir, name);
    try {
      umountDetach(p);
    } catch {
      // not (or no longer) a mount point
    }
    try {
      const st = fs.lstatSync(p);
      if (st.isDirectory()) fs.rmdirSync(p);
      else fs.unlinkSync(p);
    } catch (err) {
      log.warn("cannot remove a sandbox mount staging entry", { path: p, error: String(err) });
    }
  }
  try {
    fs.rmdirSync(dir);
  } catch (err) {
    log.warn("cannot remove a sandbox mount staging directory", { path: dir, error: String(err) });
  }
}

/** The staging root, <home>/run/mnt (0700, root's); left-overs of gateways that died are removed once. */
function stagingRoot(home: string, log: Logger): string {
  const root = path.join(home, "run", "mnt");
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(root);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o077) !== 0) throw new AppError("INTERNAL", `${root} must be a directory owned by root with mode 0700`);
  if (!swept) {
    swept = true;
    for (const name of fs.readdirSync(root)) {
      const pid = Number(/^(\d+)-/.exec(name)?.[1]);
      if (pid && pid !== process.pid && !processAlive(pid)) removeStaging(path.join(root, name), log);
    }
  }
  return root;
}

/** Binds every descriptor (id-mapped, or a copy where that is refused) onto its own staging entry; returns the paths in order. */
export async function stageFromDescriptors(opts: {
  home: string;
  runId: string;
  sources: { fd: number; kind: "dir" | "file"; label: string }[];
  identity: SandboxIdentity;
  unsharePath: string | null;
  log: Logger;
}): Promise<Staged> {
  const { log } = opts;
  const dir = path.join(stagingRoot(opts.home, log), `${process.pid}-${opts.runId}`);
  fs.mkdirSync(dir, { mode: 0o700 });
  const release = () => removeStaging(dir, log);
  const userns = await idmapUserns(opts.identity, opts.unsharePath, log);
  const budget = newCopyBudget();
  const paths: string[] = [];
  try {
    for (const [i, s] of opts.sources.entries()) {
      const p = path.join(dir, String(i));
      let tree: number;
      try {
        tree = openTreeClone(s.fd);
      } catch (err) {
        if (err instanceof MountApiError && err.code === "ENOSYS") throw new AppError("UNAVAILABLE", "sandbox mounts need open_tree and move_mount (Linux 5.2 or later) when the gateway runs as root");
        throw err;
      }
      let refused: string | null;
      try {
        refused = idmapped(tree, userns);
        if (refused === null) {
          if (s.kind === "dir") fs.mkdirSync(p, { mode: 0o700 });
          else fs.writeFileSync(p, "", { mode: 0o600, flag: "wx" });
          moveMount(tree, p);
          paths.push(p);
          continue;
        }
      } finally {
        fs.closeSync(tree);
      }
      noteCopying(refused, log);
      const copy = await copyToTmpfs({ fd: s.fd, kind: s.kind, label: s.label, owner: opts.identity, budget });
      try {
        fs.mkdirSync(p, { mode: 0o700 });
        moveMount(copy.mountFd, p);
      } finally {
        fs.closeSync(copy.mountFd);
      }
      paths.push(copy.inner === null ? p : path.join(p, copy.inner));
    }
  } catch (err) {
    release();
    throw err;
  }
  return { paths, release };
}

const BASE_ATTRS = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

/** Makes `tree` read-only, nosuid, nodev and id-mapped; null when done, else why the id-mapping was refused. */
function idmapped(tree: number, userns: number | null): string | null {
  if (userns === null) return "no user namespace could be made for the id-mapping";
  try {
    mountSetattr(tree, BASE_ATTRS | MOUNT_ATTR_IDMAP, userns);
    return null;
  } catch (err) {
    if (err instanceof MountApiError) return `id-mapped mounts are refused here (${err.message})`;
    throw err;
  }
}

let notedCopying = false;

function noteCopying(why: string, log: Logger): void {
  if (notedCopying) return;
  notedCopying = true;
  log.warn("sandbox mounts are copied into a read-only tmpfs for each run: the tenant directories' file system has no id-mapped mounts", {
    reason: why,
    limit: `${COPY_LIMITS.bytes / 1048576} MiB and ${COPY_LIMITS.entries} entries per run`,
  });
}

export interface MountStaging {
  /** idmap: bound id-mapped; copy: copied into a tmpfs per run; path: bound from the checked path (not root); unavailable: refused. */
  method: "idmap" | "copy" | "path" | "unavailable";
  /** The file system under the tenant directories (overlay, ext4, …). */
  filesystem: string;
  detail: string;
}

const FS_NAMES: Record<number, string> = { 0xef53: "ext4", 0x58465342: "xfs", 0x9123683e: "btrfs", 0x01021994: "tmpfs", 0x794c7630: "overlay", 0x6969: "nfs", 0x65735546: "fuse", 0x2fc12fc1: "zfs", 0xf2f52010: "f2fs" };

/** How a root gateway stages overlay mounts on the file system of `<home>/tenants`: tried, not assumed. */
export async function probeMountStaging(opts: { home: string; identity: SandboxIdentity; unsharePath: string | null; log: Logger }): Promise<MountStaging> {
  const tenants = path.join(opts.home, "tenants");
  const where = fs.existsSync(tenants) ? tenants : opts.home;
  const type = fs.statfsSync(where).type;
  const filesystem = FS_NAMES[type] ?? `0x${type.toString(16)}`;
  if (!opts.identity.viaStage) return { method: "path", filesystem, detail: `the gateway is not root: mounts are bound from their checked path and verified inside the sandbox (${filesystem})` };
  let refused: string;
  try {
    const fd = fs.openSync(where, O_PATH | fs.constants.O_DIRECTORY | O_CLOEXEC);
    try {
      const tree = openTreeClone(fd);
      try {
        const r = idmapped(tree, await idmapUserns(opts.identity, opts.unsharePath, opts.log));
        if (r === null) return { method: "idmap", filesystem, detail: `id-mapped mounts work on ${filesystem} (${where}): mounts are bound read-only, root's files shown as uid ${opts.identity.uid}'s` };
        refused = r;
      } finally {
        fs.closeSync(tree);
      }
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    // Reported, never thrown: the rest of the sandbox status does not depend on it.
    if (!(err instanceof MountApiError)) return { method: "unavailable", filesystem, detail: `${where} cannot be checked for id-mapped mounts (${String(err)})` };
    return { method: "unavailable", filesystem, detail: `mounts cannot be bound from a descriptor (${err.message}; Linux 5.2 or later is needed): overlay mounts are refused` };
  }
  try {
    fs.closeSync(tmpfsDetached({ size: "4096" }, 0));
  } catch (err) {
    if (!(err instanceof MountApiError)) return { method: "unavailable", filesystem, detail: `${where}: ${refused}, and no tmpfs can be made to copy mounts into (${String(err)})` };
    return { method: "unavailable", filesystem, detail: `${filesystem} (${where}): ${refused}, and no tmpfs can be made to copy mounts into (${err.message}): overlay mounts are refused` };
  }
  const limit = `${COPY_LIMITS.bytes / 1048576} MiB and ${COPY_LIMITS.entries} entries per run`;
  return { method: "copy", filesystem, detail: `${filesystem} (${where}): ${refused}; mounts are copied into a read-only tmpfs for each run (at most ${limit}) — a home on ext4, xfs, btrfs or tmpfs avoids the copy` };
}
