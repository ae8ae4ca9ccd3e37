// openat2(2) with RESOLVE_BENEATH through bun:ffi: the kernel resolves a relative path under a
// directory fd and refuses (EXDEV) any step — `..`, an absolute symlink, a symlink that climbs out —
// that would leave it. This is what makes the file tools race-free against a sandbox that swaps a
// directory for a symlink between the gateway's check and its use. Linux ≥ 5.6; `available` says
// whether this kernel has it (older kernels and gVisor fall back to the path resolver alone).
import fs from "node:fs";
import { dlopen, FFIType, ptr, read } from "bun:ffi";

export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;

const SYS_OPENAT2: Record<string, number> = { x64: 437, arm64: 437 };

let lib: { syscall(nr: number, a: number, b: number, c: number, d: number): number; errno(): number } | null | undefined;

function load() {
  if (lib !== undefined) return lib;
  try {
    const l = dlopen("libc.so.6", {
      syscall: { args: [FFIType.i64, FFIType.i64, FFIType.ptr, FFIType.ptr, FFIType.i64], returns: FFIType.i64 },
      __errno_location: { args: [], returns: FFIType.ptr },
    });
    lib = {
      syscall: (nr, a, b, c, d) => Number(l.symbols.syscall(nr, a, b as never, c as never, d)),
      errno: () => read.i32(l.symbols.__errno_location()!, 0),
    };
  } catch {
    lib = null;
  }
  return lib;
}

export class Openat2Error extends Error {
  constructor(
    readonly errno: number,
    readonly code: string,
  ) {
    super(`openat2: ${code}`);
  }
}

const CODES: Record<number, string> = { 2: "ENOENT", 13: "EACCES", 17: "EEXIST", 18: "EXDEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 36: "ENAMETOOLONG", 38: "ENOSYS", 40: "ELOOP", 1: "EPERM", 28: "ENOSPC", 30: "EROFS" };

let held: Array<Uint8Array | BigUint64Array> = [];

/** Opens `rel` beneath the directory `dirfd`; returns the new fd or throws Openat2Error. */
export function openBeneath(dirfd: number, rel: string, flags: number, mode = 0, resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): number {
  const l = load();
  const nr = SYS_OPENAT2[process.arch];
  if (!l || nr === undefined) throw new Openat2Error(38, "ENOSYS");
  const how = new BigUint64Array([BigInt(flags), BigInt(mode), BigInt(resolve)]);
  const name = Buffer.from(`${rel}\0`);
  // ptr() does not keep a buffer alive: held until the syscall returns, or the kernel could read a
  // collected (reused) buffer — another path.
  held = [name, how];
  let fd: number;
  try {
    fd = l.syscall(nr, dirfd, ptr(name), ptr(how), 24);
  } finally {
    held = [];
  }
  if (fd < 0) {
    const e = l.errno();
    throw new Openat2Error(e, CODES[e] ?? `errno ${e}`);
  }
  return fd;
}

let probed: boolean | null = null;

/** True when openat2 works here (probed once, on "." beneath the current directory's fd). */
export function openat2Available(): boolean {
  if (probed !== null) return probed;
  try {
    const dir = fs.openSync("/", fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      fs.closeSync(openBeneath(dir, ".", fs.constants.O_RDONLY | fs.constants.O_DIRECTORY));
      probed = true;
    } finally {
      fs.closeSync(dir);
    }
  } catch {
    probed = false;
  }
  return probed;
}
