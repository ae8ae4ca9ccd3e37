// How many WAL frames a checkpoint has not copied back yet, read from the WAL-index (`<db>-shm`)
// header without opening a transaction. Layout (sqlite.org/walformat.html, "the wal-index header"):
// two copies of a 48-byte header, native byte order, `mxFrame` a u32 at byte 16 of the first; then
// the checkpoint info, whose `nBackfill` is the u32 at byte 96. A reader racing a writer can see a
// torn value: this is only a hint for when to checkpoint, never for what is durable.
import fs from "node:fs";
import os from "node:os";

const HEADER_BYTES = 100;
const LE = os.endianness() === "LE";

/** Frames in the WAL not yet backfilled into the database; null when the WAL-index cannot be read. */
export function walPendingFrames(dbFile: string): number | null {
  let fd: number;
  try {
    fd = fs.openSync(`${dbFile}-shm`, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const b = Buffer.alloc(HEADER_BYTES);
    if (fs.readSync(fd, b, 0, HEADER_BYTES, 0) < HEADER_BYTES) return null;
    // SQLite writes the header twice and trusts it only when both copies match: a read that raced a
    // writer (or a restart of the WAL) is "cannot tell", not a count.
    if (!b.subarray(0, 48).equals(b.subarray(48, 96))) return null;
    const u32 = (at: number) => (LE ? b.readUInt32LE(at) : b.readUInt32BE(at));
    const mxFrame = u32(16);
    const nBackfill = u32(96);
    return mxFrame >= nBackfill ? mxFrame - nBackfill : null;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * When the checkpoint worker checkpoints: once as many frames wait as SQLite's own autocheckpoint
 * would (1000), or when some have waited `maxIdleMs`. Not on every tick: a checkpoint that copies
 * everything back lets the next commit restart the WAL, and that commit (an agent turn's first) pays
 * for it — about 1 ms on this machine, on every turn after a pause, when the worker ran each 500 ms.
 */
export function shouldCheckpoint(pending: number | null, sinceLastMs: number, opts: { frames: number; maxIdleMs: number }): boolean {
  // Cannot tell (a torn read): wait for the next look, unless frames may have waited too long already.
  if (pending === null) return sinceLastMs >= opts.maxIdleMs;
  if (pending === 0) return false;
  return pending >= opts.frames || sinceLastMs >= opts.maxIdleMs;
}
