// The ledger worker: owns a connection to state.db and writes the usage ledger in batches, off the
// event loop that serves requests. Messages: begin/finish rows, flush (answered through a shared
// Int32Array the caller waits on), close.
import { Database } from "bun:sqlite";
import { createLedgerWriter, type LedgerInsert, type LedgerUpdate } from "./ledger-writer.ts";

declare const self: Worker;

type Message =
  | { op: "open"; file: string; flushMs?: number; inFlightAfterMs?: number }
  | { op: "begin"; row: LedgerInsert }
  | { op: "row"; v: (string | number | null)[] }
  | { op: "finish"; id: string; update: LedgerUpdate }
  | { op: "batch"; messages: Message[] }
  | { op: "flush"; done: Int32Array }
  | { op: "close"; done: Int32Array };

let db: Database | null = null;
let writer: ReturnType<typeof createLedgerWriter> | null = null;

function signal(done: Int32Array, value: number): void {
  Atomics.store(done, 0, value);
  Atomics.notify(done, 0);
}

self.onmessage = (ev: MessageEvent<Message>) => handle(ev.data);

function handle(m: Message): void {
  switch (m.op) {
    case "batch":
      for (const x of m.messages) handle(x);
      break;
    case "open":
      db = new Database(m.file);
      db.exec("PRAGMA busy_timeout = 10000");
      db.exec("PRAGMA synchronous = NORMAL");
      writer = createLedgerWriter(db, { flushMs: m.flushMs, inFlightAfterMs: m.inFlightAfterMs, onError: (error, rows) => postMessage({ op: "error", error, rows }) });
      break;
    case "begin":
      writer?.begin(m.row);
      break;
    case "row":
      writer?.insertValues(m.v);
      break;
    case "finish":
      writer?.finish(m.id, m.update);
      break;
    case "flush":
      writer?.flush(true);
      signal(m.done, writer && writer.pending > 0 ? 2 : 1);
      break;
    case "close":
      writer?.flush(true);
      const left = writer?.pending ?? 0;
      db?.close();
      db = null;
      writer = null;
      signal(m.done, left > 0 ? 2 : 1);
      break;
  }
}
