// The stored-responses writer: owns a connection to state.db and applies the store's writes in one
// transaction per batch, off the event loop that serves requests (a commit there waits for the WAL
// lock and the disk — milliseconds while a checkpoint runs). A stored response is inserted only while
// the tenant it was answered for still exists as the same incarnation (the check and the insert are
// one transaction), so a write that arrives after its tenant was deleted — or deleted and created
// again under the id — stores nothing. Answers each batch with the last sequence number it applied.
import { Database } from "bun:sqlite";

declare const self: Worker;

export type Put = { op: "put"; seq: number; tenantId: string; incarnation: string; id: string; previousId: string | null; createdAt: number; expiresAt: number; bytes: number; response: string; items: string };
export type WriterMessage =
  | { op: "open"; file: string }
  | Put
  | { op: "delete"; seq: number; tenantId: string; id: string }
  | { op: "sweep"; seq: number; now: number }
  | { op: "batch"; messages: WriterMessage[] }
  | { op: "flush"; done: Int32Array }
  | { op: "close"; done: Int32Array };

let db: Database | null = null;
let stmts: ReturnType<typeof prepare> | null = null;

function prepare(d: Database) {
  return {
    insert: d.prepare(
      "INSERT INTO stored_responses (tenant_id, id, previous_id, created_at, expires_at, bytes, response, input_items) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS (SELECT 1 FROM tenants WHERE id = ?1 AND incarnation = ?9)",
    ),
    del: d.prepare("DELETE FROM stored_responses WHERE tenant_id = ?1 AND id = ?2"),
    sweep: d.prepare("DELETE FROM stored_responses WHERE expires_at <= ?1"),
  };
}

function signal(done: Int32Array): void {
  Atomics.store(done, 0, 1);
  Atomics.notify(done, 0);
}

function apply(messages: WriterMessage[]): { seq: number; swept: number } {
  let seq = 0;
  let swept = 0;
  const s = stmts!;
  db!.transaction(() => {
    for (const m of messages) {
      if (m.op === "put") s.insert.run(m.tenantId, m.id, m.previousId, m.createdAt, m.expiresAt, m.bytes, m.response, m.items, m.incarnation);
      else if (m.op === "delete") s.del.run(m.tenantId, m.id);
      else if (m.op === "sweep") swept += s.sweep.run(m.now).changes;
      if ("seq" in m) seq = Math.max(seq, m.seq);
    }
  })();
  return { seq, swept };
}

self.onmessage = (ev: MessageEvent<WriterMessage>) => {
  const m = ev.data;
  switch (m.op) {
    case "open":
      db = new Database(m.file);
      db.exec("PRAGMA busy_timeout = 10000");
      // Written to the WAL before the batch is acknowledged: a process crash loses nothing.
      db.exec("PRAGMA synchronous = NORMAL");
      stmts = prepare(db);
      break;
    case "batch":
      try {
        postMessage({ op: "done", ...apply(m.messages) });
      } catch (err) {
        const seq = Math.max(0, ...m.messages.map((x) => ("seq" in x ? x.seq : 0)));
        postMessage({ op: "error", error: String(err), seq });
      }
      break;
    case "flush":
      signal(m.done);
      break;
    case "close":
      db?.close();
      db = null;
      stmts = null;
      signal(m.done);
      break;
  }
};
