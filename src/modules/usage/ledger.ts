// The usage ledger writer. Rows are queued and written in small batches (every few milliseconds) in
// one transaction, with synchronous=NORMAL for that transaction only: a process crash loses nothing
// (WAL), and the per-request cost is a memory append instead of an fsync. Readers flush first.
import { eq, inArray } from "drizzle-orm";
import type { DbHandle } from "../../db/client.ts";
import type { Clock } from "../../core/clock.ts";
import type { Logger } from "../../core/logger.ts";
import { priceMicroUsd, type Rates } from "./pricing.ts";
import { UsageLedgerTable, type UsageRow } from "./usage.sql.ts";

export type LedgerInsert = typeof UsageLedgerTable.$inferInsert;
export type LedgerUpdate = Partial<Omit<LedgerInsert, "id" | "tenantId" | "requestId" | "startedAt">>;

export function createLedger(deps: { handle: DbHandle; clock: Clock; log: Logger; flushMs?: number }) {
  const { handle, log } = deps;
  const { sqlite, db } = handle;
  const pending = new Map<string, { insert?: LedgerInsert; update?: LedgerUpdate }>();
  let timer: Timer | null = null;
  let failures = 0;

  function schedule(): void {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      flush();
    }, deps.flushMs ?? 5);
  }

  function flush(): void {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (pending.size === 0 || sqlite.inTransaction) {
      if (pending.size > 0) schedule();
      return;
    }
    const batch = [...pending.entries()];
    pending.clear();
    try {
      sqlite.exec("PRAGMA synchronous = NORMAL");
      sqlite.exec("BEGIN IMMEDIATE");
      try {
        for (const [id, op] of batch) {
          if (op.insert) db.insert(UsageLedgerTable).values({ ...op.insert, ...op.update }).run();
          else if (op.update) db.update(UsageLedgerTable).set(op.update).where(eq(UsageLedgerTable.id, id)).run();
        }
        sqlite.exec("COMMIT");
        failures = 0;
      } catch (err) {
        sqlite.exec("ROLLBACK");
        throw err;
      }
    } catch (err) {
      // Keep every row; try again. Newer operations for the same id merge on top.
      for (const [id, op] of batch) {
        const now = pending.get(id);
        pending.set(id, { insert: op.insert, update: { ...op.update, ...now?.update } });
      }
      failures++;
      log.error("usage ledger write failed; will retry", { rows: batch.length, failures, error: String(err) });
      schedule();
    } finally {
      try {
        sqlite.exec("PRAGMA synchronous = FULL");
      } catch {
        // the connection may be closing
      }
    }
  }

  return {
    begin(row: LedgerInsert): void {
      pending.set(row.id, { insert: row });
      schedule();
    },

    finish(id: string, update: LedgerUpdate): void {
      const op = pending.get(id);
      if (op) op.update = { ...op.update, ...update };
      else pending.set(id, { update });
      schedule();
    },

    flush,

    get pendingCount() {
      return pending.size;
    },

    /**
     * Rows left in_flight by a crash: the provider may have billed them, so settle each at its reserved
     * input (an upper bound of the prompt) and mark it interrupted.
     */
    recoverInFlight(): number {
      flush();
      const rows = db.select().from(UsageLedgerTable).where(eq(UsageLedgerTable.status, "in_flight")).all();
      if (rows.length === 0) return 0;
      const now = deps.clock.now();
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
        }
        sqlite.exec("COMMIT");
      } catch (err) {
        sqlite.exec("ROLLBACK");
        throw err;
      }
      log.warn("settled requests left in flight by an earlier stop", { rows: rows.length });
      return rows.length;
    },

    close(): void {
      flush();
    },
  };
}

export type Ledger = ReturnType<typeof createLedger>;
export type { UsageRow };
