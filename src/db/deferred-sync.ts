// Commits whose wait for the disk moves off the event loop. state.db runs WAL with synchronous=FULL:
// every COMMIT fsyncs the WAL on the calling thread (1–3 ms on a VM disk, the event loop stalled the
// whole time). A caller that acknowledges its change later than the commit (an agent turn answers
// after its model call) commits with synchronous=NORMAL instead — the WAL frames are written, so a
// process crash loses nothing — and the WAL is fdatasync'ed on the thread pool; the caller waits for
// that promise before it acknowledges the change, so "an acknowledged change survives power loss"
// still holds. (A later FULL commit, or a checkpoint, syncs the same frames anyway.)
import fs from "node:fs";
import type { DbHandle } from "./client.ts";

/**
 * Runs `commitWork` (which opens and commits its own transaction) with this connection's commits not
 * waiting for the disk, then starts the WAL's fdatasync. The safety level cannot change inside a
 * transaction, so it is switched around the whole of `commitWork`, and always switched back.
 */
export function commitDeferred<T>(handle: Pick<DbHandle, "sqlite" | "file">, commitWork: () => T): { result: T; durable: Promise<void> } {
  const { sqlite } = handle;
  if (sqlite.inTransaction) throw new Error("commitDeferred must start outside a transaction");
  sqlite.exec("PRAGMA synchronous = NORMAL");
  let result: T;
  try {
    result = commitWork();
  } finally {
    sqlite.exec("PRAGMA synchronous = FULL");
  }
  return { result, durable: syncWal(handle.file) };
}

/** fdatasync of the database's WAL on the thread pool (no WAL file: nothing is waiting in one). */
export async function syncWal(dbFile: string): Promise<void> {
  let h: fs.promises.FileHandle;
  try {
    h = await fs.promises.open(`${dbFile}-wal`, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  try {
    await h.datasync();
  } finally {
    await h.close();
  }
}
