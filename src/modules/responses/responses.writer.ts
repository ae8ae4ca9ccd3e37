// The store's side of the writer worker (responses.worker.ts): writes go out in batches every few
// milliseconds, and until the worker has applied them they are kept here — a stored response is
// readable (GET, previous_response_id) the moment it is answered, and a deleted one is gone at once.
import type { Logger } from "../../core/logger.ts";
import { workerSpecifier } from "../../lib/worker.ts";
import type { Put, WriterMessage } from "./responses.worker.ts";

const BATCH_MS = 2;
const FLUSH_WAIT_MS = 30_000;

export type PendingRow = Omit<Put, "op">;

const keyOf = (tenantId: string, id: string) => `${tenantId}\u0000${id}`;

export function createResponsesWriter(deps: { file: string; log: Logger; onSwept: () => void }) {
  let worker: Worker | null = null;
  let seq = 0;
  let sent = 0;
  let outbox: WriterMessage[] = [];
  let timer: Timer | null = null;
  const puts = new Map<string, PendingRow>();
  const deletes = new Map<string, number>();

  function ensureWorker(): Worker {
    if (worker) return worker;
    const w = new Worker(workerSpecifier("modules/responses/responses.worker.ts"));
    w.unref();
    w.addEventListener("message", (ev: MessageEvent<{ op: string; seq: number; swept?: number; error?: string }>) => {
      const d = ev.data;
      if (d.op === "error") deps.log.error("stored responses: a write failed; those responses are not stored", { error: d.error });
      applied(d.seq);
      if (d.swept) deps.onSwept();
    });
    w.addEventListener("error", (e) => deps.log.error("stored responses writer failed", { error: String(e.message) }));
    w.postMessage({ op: "open", file: deps.file } satisfies WriterMessage);
    worker = w;
    return w;
  }

  function applied(upTo: number): void {
    for (const [k, p] of puts) if (p.seq <= upTo) puts.delete(k);
    for (const [k, s] of deletes) if (s <= upTo) deletes.delete(k);
  }

  function send(): void {
    if (timer) clearTimeout(timer);
    timer = null;
    if (outbox.length === 0) return;
    ensureWorker().postMessage({ op: "batch", messages: outbox } satisfies WriterMessage);
    sent += outbox.length;
    outbox = [];
  }

  function post(m: WriterMessage): void {
    outbox.push(m);
    if (!timer) {
      timer = setTimeout(send, BATCH_MS);
      timer.unref();
    }
  }

  function roundTrip(op: "flush" | "close"): void {
    send();
    if (!worker || sent === 0) return;
    const done = new Int32Array(new SharedArrayBuffer(4));
    worker.postMessage({ op, done } satisfies WriterMessage);
    if (Atomics.wait(done, 0, 0, FLUSH_WAIT_MS) === "timed-out") deps.log.error(`stored responses: ${op} did not finish within ${FLUSH_WAIT_MS / 1000}s`);
  }

  return {
    put(row: Omit<PendingRow, "seq">): void {
      const p = { ...row, seq: ++seq };
      const k = keyOf(row.tenantId, row.id);
      puts.set(k, p);
      deletes.delete(k);
      post({ op: "put", ...p });
    },
    delete(tenantId: string, id: string): void {
      const k = keyOf(tenantId, id);
      puts.delete(k);
      deletes.set(k, ++seq);
      post({ op: "delete", seq, tenantId, id });
    },
    sweep(now: number): void {
      post({ op: "sweep", seq: ++seq, now });
    },
    /** A write not yet applied: the row to read instead of the table's ("deleted": none). */
    pending(tenantId: string, id: string): PendingRow | "deleted" | undefined {
      const k = keyOf(tenantId, id);
      return deletes.has(k) ? "deleted" : puts.get(k);
    },
    /** The tenant's rows were deleted or replaced: its writes still queued are not read any more (the worker's incarnation check drops them). */
    forget(tenantId: string): void {
      for (const [k, p] of puts) if (p.tenantId === tenantId) puts.delete(k);
    },
    /** Waits until every write so far is committed (before a backup reads the table). */
    flush(): void {
      roundTrip("flush");
      applied(seq);
    },
    close(): void {
      roundTrip("close");
      worker = null;
    },
  };
}

export type ResponsesWriter = ReturnType<typeof createResponsesWriter>;
