// The new mount API (open_tree, mount_setattr, move_mount) and umount2 through bun:ffi. With it a
// root gateway binds exactly the object it holds a descriptor for: open_tree clones the mount of
// the descriptor (no path is resolved again), mount_setattr makes the clone read-only and, with an
// id-mapping, readable by the sandbox user, and move_mount attaches it at a path only root can
// reach. Linux ≥ 5.2 (open_tree, move_mount), ≥ 5.12 (mount_setattr, id-mapped mounts).
import { dlopen, FFIType, ptr, read } from "bun:ffi";

export const O_PATH = 0o10000000;
export const O_CLOEXEC = 0o2000000;
const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const OPEN_TREE_CLONE = 1;
const MOVE_MOUNT_F_EMPTY_PATH = 0x4;
const MNT_DETACH = 2;

export const MOUNT_ATTR_RDONLY = 0x1;
export const MOUNT_ATTR_NOSUID = 0x2;
export const MOUNT_ATTR_NODEV = 0x4;
export const MOUNT_ATTR_IDMAP = 0x100000;

// open_tree, move_mount and mount_setattr have the same numbers on x86_64 and aarch64.
const NR: Record<string, { openTree: number; moveMount: number; mountSetattr: number; umount2: number }> = {
  x64: { openTree: 428, moveMount: 429, mountSetattr: 442, umount2: 166 },
  arm64: { openTree: 428, moveMount: 429, mountSetattr: 442, umount2: 39 },
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

const CODES: Record<number, string> = { 1: "EPERM", 2: "ENOENT", 9: "EBADF", 13: "EACCES", 16: "EBUSY", 18: "EXDEV", 20: "ENOTDIR", 22: "EINVAL", 38: "ENOSYS", 95: "EOPNOTSUPP" };

export class MountApiError extends Error {
  constructor(
    readonly call: string,
    readonly code: string,
  ) {
    super(`${call}: ${code}`);
  }
}

function call(name: string, nr: keyof (typeof NR)["x64"], ...args: number[]): number {
  const l = load();
  const n = NR[process.arch]?.[nr];
  if (!l || n === undefined) throw new MountApiError(name, "ENOSYS");
  const r = l.sys(n, ...args);
  if (r < 0) {
    const e = l.errno();
    throw new MountApiError(name, CODES[e] ?? `errno ${e}`);
  }
  return r;
}

const EMPTY = Buffer.from("\0");

/** A detached copy of the mount at `fd` (not recursive), as a new close-on-exec descriptor. */
export function openTreeClone(fd: number): number {
  return call("open_tree", "openTree", fd, ptr(EMPTY), OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH);
}

/** Sets attributes on a detached mount; `usernsFd` (with MOUNT_ATTR_IDMAP) gives it an id-mapping. */
export function mountSetattr(mountFd: number, attrSet: number, usernsFd = 0): void {
  const attr = new BigUint64Array([BigInt(attrSet), 0n, 0n, BigInt(usernsFd)]);
  call("mount_setattr", "mountSetattr", mountFd, ptr(EMPTY), AT_EMPTY_PATH, ptr(attr), 32);
}

/** Attaches a detached mount onto an existing file or directory (an absolute path). */
export function moveMount(mountFd: number, target: string): void {
  call("move_mount", "moveMount", mountFd, ptr(EMPTY), AT_FDCWD, ptr(Buffer.from(`${target}\0`)), MOVE_MOUNT_F_EMPTY_PATH);
}

/** Detaches the mount at `target` (lazily: users of it keep their copy). */
export function umountDetach(target: string): void {
  call("umount2", "umount2", ptr(Buffer.from(`${target}\0`)), MNT_DETACH);
}
