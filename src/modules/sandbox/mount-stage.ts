// Root gateway only: each checked mount source is bound from its descriptor — open_tree clones the
// descriptor's mount, mount_setattr makes it read-only, nosuid, nodev and id-mapped, move_mount
// attaches it — onto an entry of a staging directory, <home>/run/mnt/<pid>-<run>/<n>, that only root
// can reach. bwrap's stage script and dockerd bind that entry; nothing on its path can be changed by
// a tenant. The id-mapping shows files owned by root as owned by the sandbox user, so the mount is
// readable inside although the tenant directory is root's and 0700.
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
  openTreeClone,
  umountDetach,
} from "../../lib/mount-api.ts";
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

/** Binds every descriptor onto its own staging entry; returns the entries' paths in order. */
export async function stageFromDescriptors(opts: {
  home: string;
  runId: string;
  sources: { fd: number; kind: "dir" | "file" }[];
  identity: SandboxIdentity;
  unsharePath: string | null;
  log: Logger;
}): Promise<Staged> {
  const { log } = opts;
  const dir = path.join(stagingRoot(opts.home, log), `${process.pid}-${opts.runId}`);
  fs.mkdirSync(dir, { mode: 0o700 });
  const release = () => removeStaging(dir, log);
  const userns = await idmapUserns(opts.identity, opts.unsharePath, log);
  const paths: string[] = [];
  try {
    for (const [i, s] of opts.sources.entries()) {
      const p = path.join(dir, String(i));
      if (s.kind === "dir") fs.mkdirSync(p, { mode: 0o700 });
      else fs.writeFileSync(p, "", { mode: 0o600, flag: "wx" });
      let tree: number;
      try {
        tree = openTreeClone(s.fd);
      } catch (err) {
        if (err instanceof MountApiError && err.code === "ENOSYS") throw new AppError("UNAVAILABLE", "sandbox mounts need open_tree and move_mount (Linux 5.2 or later) when the gateway runs as root");
        throw err;
      }
      try {
        setAttributes(tree, userns, log);
        moveMount(tree, p);
      } finally {
        fs.closeSync(tree);
      }
      paths.push(p);
    }
  } catch (err) {
    release();
    throw err;
  }
  return { paths, release };
}

let warnedNoIdmap = false;

function setAttributes(tree: number, userns: number | null, log: Logger): void {
  const base = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  try {
    if (userns !== null) return mountSetattr(tree, base | MOUNT_ATTR_IDMAP, userns);
  } catch (err) {
    if (!(err instanceof MountApiError) || err.code === "ENOSYS") {
      if (err instanceof MountApiError) return; // Linux < 5.12: bwrap and docker still bind it read-only
      throw err;
    }
    if (!warnedNoIdmap) {
      warnedNoIdmap = true;
      log.warn("a sandbox mount source is on a filesystem without id-mapped mounts: inside the sandbox it is readable only where its permissions let the sandbox user read", { error: err.message });
    }
  }
  try {
    mountSetattr(tree, base);
  } catch (err) {
    if (!(err instanceof MountApiError && err.code === "ENOSYS")) throw err;
  }
}
