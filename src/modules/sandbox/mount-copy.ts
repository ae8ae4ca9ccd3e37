// Root gateway, where the file system under the tenant directories refuses id-mapped mounts
// (overlayfs — a gateway home inside a container —, NFS, Linux before 5.12): each checked mount
// source is copied, for one run, into a tmpfs of its own, and that tmpfs is what gets bound.
//   - What is copied is what was checked: the walk starts at the checked descriptor and opens every
//     entry beneath its parent's descriptor with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//     RESOLVE_NO_XDEV), so no link is ever followed on the host and no other mount is entered. A
//     link inside the tree is copied as a link (resolved inside the sandbox, as a bind would be);
//     nested mounts, FIFOs, sockets and devices are left out.
//   - The tmpfs is detached while it is filled (fsmount): no other process can reach it. It is then
//     made read-only — the file system itself, not only the mount — nosuid and nodev.
//   - Ownership is what an id-mapped mount would show: root's files become the sandbox user's,
//     others keep their owner; the permission bits are kept (without setuid and setgid).
//   - A run copies at most COPY_LIMITS in all; over that the run is refused, naming the mount.
import fs from "node:fs";
import { AppError } from "../../core/errors.ts";
import { MOUNT_ATTR_NODEV, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY, MountApiError, mountSetattr, O_CLOEXEC, O_PATH, superblockReadOnly, tmpfsDetached } from "../../lib/mount-api.ts";
import { Openat2Error, openBeneath, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, RESOLVE_NO_XDEV } from "../../lib/openat2.ts";

/** What one run may copy in all (every mount together): tmpfs pages are the gateway's memory. */
export const COPY_LIMITS = { bytes: 128 * 1024 * 1024, entries: 20_000, depth: 128 };

const STEP = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
const { O_NOFOLLOW } = fs.constants;
const PAGE = 4096;

/** What is left of the run's copy allowance; shared by its mounts. */
export interface CopyBudget {
  bytes: number;
  entries: number;
}

export const newCopyBudget = (): CopyBudget => ({ bytes: COPY_LIMITS.bytes, entries: COPY_LIMITS.entries });

export interface Copied {
  /** The detached, read-only tmpfs; the caller attaches it (move_mount) and closes it. */
  mountFd: number;
  /** For a file source, its name inside the tmpfs (the tmpfs root holds only it); null for a directory. */
  inner: string | null;
}

const fdPath = (fd: number, name?: string) => (name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`);

class OverBudget extends Error {}

/** Copies the checked source at `fd` into a new read-only tmpfs, with ownership as an id-mapped mount shows it. */
export async function copyToTmpfs(opts: { fd: number; kind: "dir" | "file"; label: string; owner: { uid: number; gid: number }; budget: CopyBudget }): Promise<Copied> {
  const { budget } = opts;
  const tooBig = () =>
    new AppError(
      "UNAVAILABLE",
      `sandbox mount ${JSON.stringify(opts.label.slice(0, 200))}: the gateway home's file system has no id-mapped mounts, so mounts are copied for each run, and this run's would exceed ` +
        `${COPY_LIMITS.bytes / 1048576} MiB or ${COPY_LIMITS.entries} entries; mount a smaller directory, or put the gateway home on ext4, xfs, btrfs or tmpfs (see \`openclaw doctor\`)`,
    );
  let mountFd: number;
  try {
    mountFd = tmpfsDetached({ size: String(budget.bytes + 64 * PAGE), nr_inodes: String(budget.entries + 16), mode: "0700" }, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  } catch (err) {
    if (err instanceof MountApiError) throw new AppError("UNAVAILABLE", `sandbox mount ${JSON.stringify(opts.label.slice(0, 200))}: the gateway home's file system has no id-mapped mounts and a tmpfs to copy the mount into cannot be made (${err.message})`);
    throw err;
  }
  const map = (st: fs.Stats) => ({ uid: st.uid === 0 ? opts.owner.uid : st.uid, gid: st.gid === 0 ? opts.owner.gid : st.gid });
  const setMeta = (dest: string, st: fs.Stats) => {
    const o = map(st);
    fs.lchownSync(dest, o.uid, o.gid);
    if (!st.isSymbolicLink()) {
      fs.chmodSync(dest, st.mode & 0o1777);
      fs.utimesSync(dest, st.atime, st.mtime);
    }
  };
  const chargeFile = (size: number) => {
    budget.bytes -= Math.ceil(size / PAGE) * PAGE;
    if (budget.bytes < 0) throw new OverBudget();
  };

  async function copyFile(srcFd: number, st: fs.Stats, dest: string): Promise<void> {
    chargeFile(st.size);
    // The magic link reopens exactly the object the descriptor holds; the destination is new (EXCL).
    await fs.promises.copyFile(fdPath(srcFd), dest, fs.constants.COPYFILE_EXCL);
    const grew = fs.statSync(dest).size - st.size;
    if (grew > 0) chargeFile(grew);
  }

  async function copyDir(dirFd: number, dest: string, depth: number): Promise<void> {
    if (depth > COPY_LIMITS.depth) throw new AppError("UNAVAILABLE", `sandbox mount ${JSON.stringify(opts.label.slice(0, 200))}: nested deeper than ${COPY_LIMITS.depth} directories, which a copied mount cannot be`);
    for (const name of fs.readdirSync(fdPath(dirFd))) {
      let fd: number;
      try {
        fd = openBeneath(dirFd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0, STEP);
      } catch (err) {
        // Gone since the listing, or another mount (which a bind of this directory would not show).
        if (err instanceof Openat2Error && (err.code === "ENOENT" || err.code === "EXDEV")) continue;
        throw err;
      }
      try {
        const st = fs.fstatSync(fd);
        const to = `${dest}/${name}`;
        if (!st.isDirectory() && !st.isFile() && !st.isSymbolicLink()) continue;
        if (--budget.entries < 0) throw new OverBudget();
        if (st.isDirectory()) {
          fs.mkdirSync(to, { mode: 0o700 });
          await copyDir(fd, to, depth + 1);
        } else if (st.isFile()) await copyFile(fd, st, to);
        else {
          // Read in the directory that was opened (one component, not followed); only its text is
          // copied. Replaced since it was opened (no longer a link, or gone): left out.
          let target: string;
          try {
            target = fs.readlinkSync(fdPath(dirFd, name));
          } catch (err) {
            if (["EINVAL", "ENOENT"].includes((err as NodeJS.ErrnoException).code ?? "")) continue;
            throw err;
          }
          chargeFile(target.length);
          fs.symlinkSync(target, to);
        }
        setMeta(to, st);
      } finally {
        fs.closeSync(fd);
      }
    }
  }

  try {
    const st = fs.fstatSync(opts.fd);
    const root = fdPath(mountFd);
    let inner: string | null = null;
    if (opts.kind === "dir") {
      await copyDir(opts.fd, root, 1);
      setMeta(`${root}/.`, st); // "/.": the tmpfs root itself, not the descriptor's magic link
    } else {
      inner = "file";
      if (--budget.entries < 0) throw new OverBudget();
      await copyFile(opts.fd, st, `${root}/${inner}`);
      setMeta(`${root}/${inner}`, st);
    }
    superblockReadOnly(mountFd);
    try {
      mountSetattr(mountFd, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    } catch (err) {
      if (!(err instanceof MountApiError && err.code === "ENOSYS")) throw err; // before 5.12 the read-only superblock is enough
    }
    return { mountFd, inner };
  } catch (err) {
    fs.closeSync(mountFd); // detached: closing it frees the copy
    if (err instanceof OverBudget || (err as NodeJS.ErrnoException)?.code === "ENOSPC") throw tooBig();
    throw err;
  }
}
