// The usage ledger, as the rest of the process sees it. Rows go to the ledger worker (a thread with
// its own state.db connection that batches them, see ledger-writer.ts), so recording a request costs
// a message, not a commit. A request's in_flight row (its reservation, for crash recovery) is sent
// only if the request is still running after a second; a quick request is sent once, complete.
// flush() waits until everything so far is committed; readers call it. A process that never routes
// (the CLI) never starts the worker.
import { eq, inArray } from "drizzle-orm";
import type { DbHandle } from "../../db/client.ts";
import type { Clock } from "../../core/clock.ts";
import type { Logger } from "../../core/logger.ts";
import { rowValues, type LedgerInsert, type LedgerUpdate } from "./ledger-writer.ts";
import { priceMicroUsd, type Rates } from "./pricing.ts";
import { DailySums } from "./usage-daily.ts";
import { UsageLedgerTable, type UsageRow } from "./usage.sql.ts";
import { workerSpecifier } from "../../lib/worker.ts";

export type { LedgerInsert, LedgerUpdate };

/** From source the worker is a file next to this one; in the binary, an extra entry point (see scripts/build.ts). */

const FLUSH_WAIT_MS = 15_000;
const COMMIT_MS = 50;

export function createLedger(deps: {
  handle: DbHandle;
  clock: Clock;
  log: Logger;
  /** The tenant's current incarnation, stamped on each row at admission ("" when there is no such tenant). */
  incarnationOf: (tenantId: string) => string | null;
  flushMs?: number;
  commitMs?: number;
  inFlightAfterMs?: number;
}) {
  const { handle, log } = deps;
  const { sqlite, db } = handle;
  let worker: Worker | null = null;
  let sent = 0;
  const inFlightAfterMs = deps.inFlightAfterMs ?? 1000;
  const waiting = new Map<string, { row: LedgerInsert; since: number }>();
  let sweep: Timer | null = null;

  // Messages go to the worker in batches: one wake-up of its thread every few milliseconds, not one
  // per request (on a small machine those wake-ups compete with requests for the CPU).
  let outbox: unknown[] = [];
  let outboxTimer: Timer | null = null;
  function post(msg: unknown): void {
    outbox.push(msg);
    sent++;
    if (!outboxTimer) {
      outboxTimer = setTimeout(sendOutbox, deps.flushMs ?? 5);
      outboxTimer.unref();
    }
  }
  function sendOutbox(): void {
    if (outboxTimer) {
      clearTimeout(outboxTimer);
      outboxTimer = null;
    }
    if (outbox.length === 0) return;
    ensureWorker().postMessage({ op: "batch", messages: outbox });
    outbox = [];
  }

  /** Sends the in_flight rows of requests that have been running long enough (or all of them). */
  function sendWaiting(all: boolean): void {
    const now = performance.now();
    for (const [id, w] of waiting) {
      if (!all && now - w.since < inFlightAfterMs) continue;
      waiting.delete(id);
      post({ op: "begin", row: w.row });
    }
    if (waiting.size === 0 && sweep) {
      clearInterval(sweep);
      sweep = null;
    }
  }

  function ensureWorker(): Worker {
    if (worker) return worker;
    const w = new Worker(workerSpecifier("modules/usage/ledger.worker.ts"));
    w.unref();
    w.addEventListener("message", (ev: MessageEvent<{ op: string; error?: string; rows?: number }>) => {
      if (ev.data.op === "error") log.error("usage ledger write failed; retrying", { error: ev.data.error, rows: ev.data.rows });
    });
    w.addEventListener("error", (e) => log.error("usage ledger worker failed", { error: String(e.message) }));
    // The worker commits what it has received every COMMIT_MS: fewer, larger transactions cost its
    // thread (and the CPU it shares with request handling) much less than one per message.
    w.postMessage({ op: "open", file: handle.file, flushMs: deps.commitMs ?? COMMIT_MS, inFlightAfterMs: 0 });
    worker = w;
    return w;
  }

  /** Sends a message the worker answers through shared memory, and waits for the answer. */
  function roundTrip(op: "flush" | "close"): void {
    sendOutbox();
    if (!worker || sent === 0) return;
    const done = new Int32Array(new SharedArrayBuffer(4));
    worker.postMessage({ op, done });
    const r = Atomics.wait(done, 0, 0, FLUSH_WAIT_MS);
    if (r === "timed-out") log.error(`usage ledger ${op} did not finish within ${FLUSH_WAIT_MS / 1000}s`);
    else if (Atomics.load(done, 0) === 2) log.error(`usage ledger ${op}: some rows could not be written yet`);
  }

  return {
    /**
     * A request was admitted. Its row is stamped now with the tenant's incarnation, so a request of a
     * deleted tenant that ends after its id was reused stays the previous owner's.
     */
    begin(input: Omit<LedgerInsert, "incarnation"> & { incarnation?: string }): void {
      const row: LedgerInsert = { ...input, incarnation: input.incarnation ?? deps.incarnationOf(input.tenantId) ?? "" };
      waiting.set(row.id, { row, since: performance.now() });
      if (!sweep) {
        sweep = setInterval(() => sendWaiting(false), Math.max(50, inFlightAfterMs / 4));
        sweep.unref();
      }
    },

    finish(id: string, update: LedgerUpdate): void {
      const w = waiting.get(id);
      if (w) {
        waiting.delete(id);
        post({ op: "row", v: rowValues(w.row, update) });
      } else {
        post({ op: "finish", id, update });
      }
    },

    /** Blocks until every row so far (requests in flight included) is committed. */
    flush(): void {
      sendWaiting(true);
      roundTrip("flush");
    },

    /**
     * Rows left in_flight by a crash: the provider may have billed them, so settle each at its reserved
     * input (an upper bound of the prompt) and mark it interrupted. Runs at gateway start.
     */
    recoverInFlight(): number {
      roundTrip("flush");
      const rows = db.select().from(UsageLedgerTable).where(eq(UsageLedgerTable.status, "in_flight")).all();
      if (rows.length === 0) return 0;
      const now = deps.clock.now();
      const daily = new DailySums();
      sqlite.exec("BEGIN IMMEDIATE");
      try {
        for (const r of rows) {
          const usage = { inputTokens: r.inputBound, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
          db.update(UsageLedgerTable)
            .set({
              status: "interrupted",
              errorCode: "gateway_restarted",
              inputTokens: usage.inputTokens,
              totalTokens: usage.inputTokens,
              costMicroUsd: priceMicroUsd(usage, JSON.parse(r.rates) as Rates),
              endedAt: now,
            })
            .where(inArray(UsageLedgerTable.id, [r.id]))
            .run();
          daily.add({ ...r, inputTokens: usage.inputTokens, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, totalTokens: usage.inputTokens, costMicroUsd: priceMicroUsd(usage, JSON.parse(r.rates) as Rates) });
        }
        daily.write(sqlite);
        sqlite.exec("COMMIT");
      } catch (err) {
        sqlite.exec("ROLLBACK");
        throw err;
      }
      log.warn("settled requests left in flight by an earlier stop", { rows: rows.length });
      return rows.length;
    },

    close(): void {
      sendWaiting(true);
      roundTrip("close");
      worker?.terminate();
      worker = null;
    },
  };
}

export type Ledger = ReturnType<typeof createLedger>;
export type { UsageRow };
