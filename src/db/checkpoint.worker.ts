// Runs WAL checkpoints on its own thread and connection, so the gateway's event loop never stalls on
// the database fsync a checkpoint needs. The gateway's connection has wal_autocheckpoint=0.
import { Database } from "bun:sqlite";

declare const self: Worker;

let db: Database | null = null;
let timer: Timer | null = null;

self.onmessage = (ev: MessageEvent<{ type: "start"; file: string; intervalMs: number } | { type: "stop" }>) => {
  const msg = ev.data;
  if (msg.type === "start") {
    db = new Database(msg.file);
    db.exec("PRAGMA busy_timeout = 5000");
    timer = setInterval(() => {
      try {
        // PASSIVE: copies what it can without waiting for, or blocking, readers and writers.
        db!.exec("PRAGMA wal_checkpoint(PASSIVE)");
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
