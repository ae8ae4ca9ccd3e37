// Runs WAL checkpoints on its own thread and connection, so the gateway's event loop never stalls on
// the database fsync a checkpoint needs. The gateway's connection has wal_autocheckpoint=0. It looks
// every `intervalMs` and checkpoints when enough frames wait (wal-index.ts: shouldCheckpoint).
import { Database } from "bun:sqlite";
import { shouldCheckpoint, walPendingFrames } from "./wal-index.ts";

declare const self: Worker;

let db: Database | null = null;
let timer: Timer | null = null;

type Start = { type: "start"; file: string; intervalMs: number; frames: number; maxIdleMs: number };

self.onmessage = (ev: MessageEvent<Start | { type: "stop" }>) => {
  const msg = ev.data;
  if (msg.type === "start") {
    db = new Database(msg.file);
    db.exec("PRAGMA busy_timeout = 5000");
    let last = Date.now();
    timer = setInterval(() => {
      try {
        if (!shouldCheckpoint(walPendingFrames(msg.file), Date.now() - last, msg)) return;
        // PASSIVE: copies what it can without waiting for, or blocking, readers and writers.
        db!.exec("PRAGMA wal_checkpoint(PASSIVE)");
        last = Date.now();
        postMessage({ type: "checkpointed" });
      } catch (err) {
        postMessage({ type: "error", error: String(err) });
      }
    }, msg.intervalMs);
    postMessage({ type: "started" });
  } else {
    if (timer) clearInterval(timer);
    db?.close();
    db = null;
    postMessage({ type: "stopped" });
  }
};
