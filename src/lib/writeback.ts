// sync_file_range(2) through bun:ffi: starts writing a range of a file's dirty pages to disk without
// waiting, so a later fsync/syncfs finds most of the work done. Linux only; where libc or the call is
// missing it does nothing (durability still comes from the fsync that follows).
import { dlopen, FFIType } from "bun:ffi";

const SYNC_FILE_RANGE_WRITE = 2;
let fn: ((fd: number, offset: number, nbytes: number, flags: number) => number) | null | undefined;

function load() {
  if (fn !== undefined) return fn;
  try {
    const lib = dlopen("libc.so.6", { sync_file_range: { args: [FFIType.i32, FFIType.i64, FFIType.i64, FFIType.u32], returns: FFIType.i32 } });
    fn = (fd, offset, nbytes, flags) => lib.symbols.sync_file_range(fd, offset, nbytes, flags) as number;
  } catch {
    fn = null;
  }
  return fn;
}

/** Starts writeback of `nbytes` at `offset` of `fd` (returns at once). */
export function startWriteback(fd: number, offset: number, nbytes: number): void {
  load()?.(fd, offset, nbytes, SYNC_FILE_RANGE_WRITE);
}
