// The new mount API (open_tree, mount_setattr, move_mount, fsopen/fsconfig/fsmount, fspick) and
// umount2 through bun:ffi. With it a root gateway binds exactly the object it holds a descriptor
// for: open_tree clones the mount of the descriptor (no path is resolved again), mount_setattr makes
// the clone read-only and, with an id-mapping, readable by the sandbox user, and move_mount attaches
// it at a path only root can reach. Where the file system refuses id-mapped mounts, fsmount makes a
// detached tmpfs that no other process can reach until it is attached (./mount-copy.ts fills it).
// Linux ≥ 5.2 (open_tree, move_mount, fsopen…), ≥ 5.12 (mount_setattr, id-mapped mounts).
import fs from "node:fs";
import { dlopen, FFIType, ptr, read } from "bun:ffi";

export const O_PATH = 0o10000000;
export const O_CLOEXEC = 0o2000000;
const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const OPEN_TREE_CLONE = 1;
const MOVE_MOUNT_F_EMPTY_PATH = 0x4;
const MNT_DETACH = 2;
const FSOPEN_CLOEXEC = 1;
const FSMOUNT_CLOEXEC = 1;
const FSPICK_CLOEXEC = 1;
const FSPICK_EMPTY_PATH = 8;
const FSCONFIG_SET_FLAG = 0;
const FSCONFIG_SET_STRING = 1;
const FSCONFIG_CMD_CREATE = 6;
const FSCONFIG_CMD_RECONFIGURE = 7;

export const MOUNT_ATTR_RDONLY = 0x1;
export const MOUNT_ATTR_NOSUID = 0x2;
export const MOUNT_ATTR_NODEV = 0x4;
export const MOUNT_ATTR_IDMAP = 0x100000;

// The new mount API has the same numbers on x86_64 and aarch64 (umount2 does not).
const NEW = { openTree: 428, moveMount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mountSetattr: 442 };
const NR: Record<string, typeof NEW & { umount2: number }> = {
  x64: { ...NEW, umount2: 166 },
  arm64: { ...NEW, umount2: 39 },
};

type Sys = (nr: number, a?: number, b?: number, c?: number, d?: number, e?: number) => number;
let lib: { sys: Sys; errno(): number } | null | undefined;

function load() {
  if (lib !== undefined) return lib;
  try {
    const l = dlopen("libc.so.6", {
      syscall: { args: [FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64], returns: FFIType.i64 },
      __errno_location: { args: [], returns: FFIType.ptr },
    });
    lib = {
      sys: (nr, a = 0, b = 0, c = 0, d = 0, e = 0) => Number(l.symbols.syscall(nr, a, b, c, d, e)),
      errno: () => read.i32(l.symbols.__errno_location()!, 0),
    };
  } catch {
    lib = null;
  }
  return lib;
}

const CODES: Record<number, string> = { 1: "EPERM", 2: "ENOENT", 9: "EBADF", 12: "ENOMEM", 13: "EACCES", 16: "EBUSY", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR", 22: "EINVAL", 28: "ENOSPC", 38: "ENOSYS", 95: "EOPNOTSUPP" };

export class MountApiError extends Error {
  constructor(
    readonly call: string,
    readonly code: string,
  ) {
    super(`${call}: ${code}`);
  }
}

/**
 * The buffers of the call in progress. A pointer (ptr()) does not keep its buffer alive: a temporary
 * could be collected before the kernel reads it — a path or key that is garbage by then (an
 * intermittent EINVAL, or worse a different path). Held here until the syscall returns.
 */
let held: Array<Uint8Array | BigUint64Array> = [];

/** Arguments: numbers as they are; buffers passed by address, kept alive for the call. */
function call(name: string, nr: keyof (typeof NR)["x64"], ...args: (number | Uint8Array | BigUint64Array)[]): number {
  const l = load();
  const n = NR[process.arch]?.[nr];
  if (!l || n === undefined) throw new MountApiError(name, "ENOSYS");
  held = args.filter((a): a is Uint8Array | BigUint64Array => typeof a !== "number");
  let r: number;
  try {
    r = l.sys(n, ...args.map((a) => (typeof a === "number" ? a : ptr(a))));
  } finally {
    held = [];
  }
  if (r < 0) {
    const e = l.errno();
    throw new MountApiError(name, CODES[e] ?? `errno ${e}`);
  }
  return r;
}

const EMPTY = Buffer.from("\0");
const cstr = (s: string) => Buffer.from(`${s}\0`);

/** A detached copy of the mount at `fd` (not recursive), as a new close-on-exec descriptor. */
export function openTreeClone(fd: number): number {
  return call("open_tree", "openTree", fd, EMPTY, OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH);
}

/** Sets attributes on a detached mount; `usernsFd` (with MOUNT_ATTR_IDMAP) gives it an id-mapping. */
export function mountSetattr(mountFd: number, attrSet: number, usernsFd = 0): void {
  const attr = new BigUint64Array([BigInt(attrSet), 0n, 0n, BigInt(usernsFd)]);
  call("mount_setattr", "mountSetattr", mountFd, EMPTY, AT_EMPTY_PATH, attr, 32);
}

/** Attaches a detached mount onto an existing file or directory (an absolute path). */
export function moveMount(mountFd: number, target: string): void {
  call("move_mount", "moveMount", mountFd, EMPTY, AT_FDCWD, cstr(target), MOVE_MOUNT_F_EMPTY_PATH);
}

/** Detaches the mount at `target` (lazily: users of it keep their copy). */
export function umountDetach(target: string): void {
  call("umount2", "umount2", cstr(target), MNT_DETACH);
}

/**
 * A new tmpfs as a detached mount (close-on-exec descriptor): attached nowhere, so no other process
 * can reach it until move_mount. `options` are tmpfs's (size, nr_inodes, mode); `attrs` MOUNT_ATTR_*.
 */
export function tmpfsDetached(options: Record<string, string>, attrs: number): number {
  const fsfd = call("fsopen", "fsopen", cstr("tmpfs"), FSOPEN_CLOEXEC);
  try {
    for (const [k, v] of Object.entries(options)) call("fsconfig", "fsconfig", fsfd, FSCONFIG_SET_STRING, cstr(k), cstr(v), 0);
    call("fsconfig", "fsconfig", fsfd, FSCONFIG_CMD_CREATE, 0, 0, 0);
    return call("fsmount", "fsmount", fsfd, FSMOUNT_CLOEXEC, attrs);
  } finally {
    closeFd(fsfd);
  }
}

/** Makes the file system of the mount at `mountFd` read-only (the superblock, not only this mount). */
export function superblockReadOnly(mountFd: number): void {
  const fsfd = call("fspick", "fspick", mountFd, EMPTY, FSPICK_CLOEXEC | FSPICK_EMPTY_PATH);
  try {
    call("fsconfig", "fsconfig", fsfd, FSCONFIG_SET_FLAG, cstr("ro"), 0, 0);
    call("fsconfig", "fsconfig", fsfd, FSCONFIG_CMD_RECONFIGURE, 0, 0, 0);
  } finally {
    closeFd(fsfd);
  }
}

function closeFd(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}
