// The checkpoint worker's schedule: it reads how many WAL frames wait from the WAL-index header and
// checkpoints past a count or an age — not on every tick, which made the first commit after every
// pause restart the WAL (about 1 ms of an agent turn).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, test } from "bun:test";
import { startCheckpointer } from "../../src/db/checkpointer.ts";
import { openDatabase, type DbHandle } from "../../src/db/client.ts";
import { shouldCheckpoint, walPendingFrames } from "../../src/db/wal-index.ts";
import { silentLogger } from "../../src/core/logger.ts";

function fresh(): DbHandle {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "walidx-"));
  const h = openDatabase(path.join(dir, "state.db"));
  h.sqlite.exec("PRAGMA wal_autocheckpoint = 0");
  h.sqlite.exec("CREATE TABLE IF NOT EXISTS t (a TEXT)");
  h.sqlite.exec("PRAGMA wal_checkpoint(TRUNCATE)"); // the set-up's own frames are not counted
  return h;
}
const write = (h: DbHandle, n: number) => {
  for (let i = 0; i < n; i++) h.sqlite.query("INSERT INTO t VALUES (?1)").run("x".repeat(3000));
};
/** What SQLite itself says: [busy, frames in the WAL, frames checkpointed] of a PASSIVE checkpoint. */
const checkpoint = (h: DbHandle) => Object.values(h.sqlite.query("PRAGMA wal_checkpoint(PASSIVE)").get() as Record<string, number>);

describe("walPendingFrames", () => {
  test("counts the frames a checkpoint has not copied back, as SQLite counts them; 0 after a checkpoint", () => {
    const h = fresh();
    try {
      checkpoint(h);
      expect(walPendingFrames(h.file)).toBe(0);
      write(h, 20);
      const pending = walPendingFrames(h.file);
      expect(pending).toBeGreaterThanOrEqual(20); // a 3 kB row per commit: at least a page each
      const [busy, log, done] = checkpoint(h);
      expect(busy).toBe(0);
      expect(log).toBe(pending!); // the same count SQLite reports
      expect(done).toBe(log!);
      expect(walPendingFrames(h.file)).toBe(0);
    } finally {
      h.close();
    }
  });

  test("no WAL-index: null (cannot tell)", () => {
    expect(walPendingFrames(path.join(os.tmpdir(), `nothing-${process.pid}.db`))).toBeNull();
  });
});

describe("shouldCheckpoint", () => {
  const opts = { frames: 1000, maxIdleMs: 30_000 };
  test("past the frame count, or when frames have waited the longest allowed; never for an empty WAL", () => {
    expect(shouldCheckpoint(0, 1e9, opts)).toBe(false);
    expect(shouldCheckpoint(10, 500, opts)).toBe(false);
    expect(shouldCheckpoint(1000, 500, opts)).toBe(true);
    expect(shouldCheckpoint(10, 30_000, opts)).toBe(true);
    expect(shouldCheckpoint(null, 0, opts)).toBe(false); // a torn read: look again next tick
    expect(shouldCheckpoint(null, 30_000, opts)).toBe(true);
  });
});

describe("the checkpoint worker", () => {
  test("does not checkpoint a few frames on every tick; does past the count", async () => {
    const h = fresh();
    let n = 0;
    const c = startCheckpointer(h, silentLogger(), { intervalMs: 20, frames: 30, maxIdleMs: 60_000, onCheckpoint: () => n++ });
    try {
      write(h, 5);
      await Bun.sleep(300); // ~15 ticks
      expect(n).toBe(0);
      expect(walPendingFrames(h.file)).toBeGreaterThanOrEqual(5);
      write(h, 40);
      for (let i = 0; i < 100 && n === 0; i++) await Bun.sleep(20);
      expect(n).toBeGreaterThan(0);
      // The worker runs on its own thread: it may have checkpointed while the 40 were still being
      // written, leaving the last few (fewer than the count) in the WAL.
      expect(walPendingFrames(h.file)!).toBeLessThan(30);
    } finally {
      await c.stop();
      h.close();
    }
  });

  test("checkpoints a few frames once they have waited maxIdleMs", async () => {
    const h = fresh();
    let n = 0;
    const c = startCheckpointer(h, silentLogger(), { intervalMs: 20, frames: 1_000_000, maxIdleMs: 200, onCheckpoint: () => n++ });
    try {
      write(h, 3);
      for (let i = 0; i < 100 && n === 0; i++) await Bun.sleep(20);
      expect(n).toBeGreaterThan(0);
      expect(walPendingFrames(h.file)).toBe(0);
    } finally {
      await c.stop();
      h.close();
    }
  });
});
