// Moves WAL checkpoints of a long-running process (the gateway) to a worker thread. Without this,
// SQLite checkpoints inside whichever commit crosses 1000 WAL pages, and that commit's fsync stalls
// every request in flight for tens of milliseconds.
import type { Logger } from "../core/logger.ts";
import type { DbHandle } from "./client.ts";
import { workerSpecifier } from "../lib/worker.ts";

export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * `frames`: checkpoint once this many WAL frames wait (SQLite's own autocheckpoint default);
 * `maxIdleMs`: or once any have waited this long. Looked at every `intervalMs`.
 */
export function startCheckpointer(handle: DbHandle, log: Logger, opts: { intervalMs?: number; frames?: number; maxIdleMs?: number; onCheckpoint?: () => void } = {}): Checkpointer {
  const { intervalMs = 500, frames = 1000, maxIdleMs = 30_000 } = opts;
  const worker = new Worker(workerSpecifier("db/checkpoint.worker.ts"));
  const fallBack = (why: string) => {
    log.error(`WAL checkpoint worker failed (${why}); checkpointing on the main connection again`);
    try {
      handle.sqlite.exec("PRAGMA wal_autocheckpoint = 1000");
    } catch {
      // the connection may be closed
    }
  };
  worker.addEventListener("error", (e) => fallBack(String(e.message)));
  worker.addEventListener("message", (ev: MessageEvent<{ type: string; error?: string }>) => {
    if (ev.data.type === "error") log.warn("WAL checkpoint failed; retrying on the next tick", { error: ev.data.error });
    if (ev.data.type === "checkpointed") opts.onCheckpoint?.();
  });
  worker.postMessage({ type: "start", file: handle.file, intervalMs, frames, maxIdleMs });
  handle.sqlite.exec("PRAGMA wal_autocheckpoint = 0");
  return {
    async stop() {
      const stopped = new Promise<void>((resolve) => {
        worker.addEventListener("message", (ev: MessageEvent<{ type: string }>) => ev.data.type === "stopped" && resolve());
      });
      worker.postMessage({ type: "stop" });
      await Promise.race([stopped, Bun.sleep(2000)]);
      worker.terminate();
      try {
        handle.sqlite.exec("PRAGMA wal_autocheckpoint = 1000");
      } catch {
        // closing anyway
      }
    },
  };
}
