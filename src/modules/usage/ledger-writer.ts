// Batches ledger rows into few transactions. Runs inside the ledger worker (its own thread and
// connection), so the commits never stall the gateway's event loop. Rows are written every few
// milliseconds with synchronous=NORMAL: once written, a process crash loses nothing (WAL). A
// request's in_flight row (its reservation, for crash recovery) is written only once the request
// has been running for a while; a quick request is written once, complete.
import type { Database } from "bun:sqlite";
import { getTableColumns } from "drizzle-orm";
import { DailySums } from "./usage-daily.ts";
import { UsageLedgerTable } from "./usage.sql.ts";

export type LedgerInsert = typeof UsageLedgerTable.$inferInsert;
export type LedgerUpdate = Partial<Omit<LedgerInsert, "id" | "tenantId" | "requestId" | "startedAt">>;

/** Column keys in table order: a complete row travels to the worker as an array in this order. */
export const LEDGER_KEYS = Object.keys(getTableColumns(UsageLedgerTable)) as (keyof LedgerInsert)[];
const DEFAULT_VALUES: Record<string, unknown> = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, totalTokens: 0, costMicroUsd: 0 };

/** A complete row as the array the worker inserts: `update` over `row`, booleans as 0/1, gaps null or 0. */
export function rowValues(row: Partial<LedgerInsert>, update: Partial<LedgerInsert> = {}): (string | number | null)[] {
  const out = new Array<string | number | null>(LEDGER_KEYS.length);
  for (let i = 0; i < LEDGER_KEYS.length; i++) {
    const k = LEDGER_KEYS[i]!;
    const v = update[k] ?? row[k] ?? DEFAULT_VALUES[k];
    out[i] = v === undefined ? null : typeof v === "boolean" ? (v ? 1 : 0) : (v as string | number | null);
  }
  return out;
}

export interface LedgerWriterOptions {
  flushMs?: number;
  inFlightAfterMs?: number;
  onError?: (message: string, rows: number) => void;
}

export function createLedgerWriter(sqlite: Database, opts: LedgerWriterOptions = {}) {
  const flushMs = opts.flushMs ?? 5;
  const inFlightAfterMs = opts.inFlightAfterMs ?? 1000;
  const pending = new Map<string, { insert?: LedgerInsert; update?: LedgerUpdate; since: number }>();
  const COLUMNS = Object.entries(getTableColumns(UsageLedgerTable)).map(([key, col]) => ({ key, name: col.name }));
  const insertStmt = sqlite.prepare(`INSERT INTO usage_ledger (${COLUMNS.map((c) => c.name).join(", ")}) VALUES (${COLUMNS.map(() => "?").join(", ")})`);
  const UPDATABLE = COLUMNS.filter((c) => !["id", "tenantId", "requestId", "startedAt"].includes(c.key));
  const updateStmt = sqlite.prepare(`UPDATE usage_ledger SET ${UPDATABLE.map((c) => `${c.name} = coalesce(?, ${c.name})`).join(", ")} WHERE id = ?`);
  const DEFAULTS: Record<string, unknown> = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, totalTokens: 0, costMicroUsd: 0 };
  const sqlValue = (v: unknown) => (v === undefined ? null : typeof v === "boolean" ? (v ? 1 : 0) : (v as string | number | null));
  const identity = sqlite.prepare("SELECT tenant_id AS tenantId, incarnation, model, started_at AS startedAt, status FROM usage_ledger WHERE id = ?");
  const daily = new DailySums();
  let timer: Timer | null = null;
  let timerDue = 0;
  let failures = 0;
  // Complete rows (the common case), as value arrays in LEDGER_KEYS order.
  let ready: (string | number | null)[][] = [];
  const at = Object.fromEntries(LEDGER_KEYS.map((k, i) => [k, i])) as Record<keyof LedgerInsert, number>;

  /** Flush within `delay` ms; an earlier deadline already set is kept. */
  function schedule(delay = flushMs): void {
    const due = performance.now() + delay;
    if (timer && timerDue <= due) return;
    if (timer) clearTimeout(timer);
    timerDue = due;
    timer = setTimeout(() => {
      timer = null;
      flush(false);
    }, delay);
  }

  function flush(all: boolean): void {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (pending.size === 0 && ready.length === 0) return;
    // Everything complete, and in-flight rows that have been running long enough (or all of them).
    const now = performance.now();
    const batch = [...pending.entries()].filter(([, op]) => all || !op.insert || op.update || now - op.since >= inFlightAfterMs);
    for (const [id] of batch) pending.delete(id);
    if (pending.size > 0) {
      let next = Number.POSITIVE_INFINITY;
      for (const op of pending.values()) next = Math.min(next, op.since + inFlightAfterMs - now);
      schedule(Math.max(1, next));
    }
    const rows = ready;
    ready = [];
    if (batch.length === 0 && rows.length === 0) return;
    try {
      sqlite.exec("BEGIN IMMEDIATE");
      try {
        for (const v of rows) {
          insertStmt.run(...v);
          daily.add({
            tenantId: v[at.tenantId] as string,
            incarnation: v[at.incarnation] as string,
            model: v[at.model] as string,
            startedAt: v[at.startedAt] as number,
            inputTokens: v[at.inputTokens] as number,
            outputTokens: v[at.outputTokens] as number,
            cacheReadTokens: v[at.cacheReadTokens] as number,
            cacheWriteTokens: v[at.cacheWriteTokens] as number,
            reasoningTokens: v[at.reasoningTokens] as number,
            totalTokens: v[at.totalTokens] as number,
            costMicroUsd: v[at.costMicroUsd] as number,
          });
        }
        for (const [id, op] of batch) {
          if (op.insert) {
            const row = { ...DEFAULTS, ...op.insert, ...op.update } as Record<string, unknown>;
            insertStmt.run(...COLUMNS.map((c) => sqlValue(row[c.key])));
            if (row.status !== "in_flight") daily.add(row as never);
          } else if (op.update) {
            const u = op.update as Record<string, unknown>;
            const before = identity.get(id) as { tenantId: string; incarnation: string; model: string; startedAt: number; status: string } | null;
            updateStmt.run(...UPDATABLE.map((c) => sqlValue(u[c.key])), id);
            // A row settles once: from in_flight to its final status.
            if (before?.status === "in_flight" && u.status && u.status !== "in_flight") daily.add({ ...before, ...u } as never);
          }
        }
        daily.write(sqlite);
        sqlite.exec("COMMIT");
        failures = 0;
      } catch (err) {
        sqlite.exec("ROLLBACK");
        daily.clear(); // the retry adds the batch's rows again
        throw err;
      }
    } catch (err) {
      // Keep every row and try again; newer operations for the same id merge on top.
      ready = rows.concat(ready);
      for (const [id, op] of batch) {
        const later = pending.get(id);
        pending.set(id, { insert: op.insert, update: { ...op.update, ...later?.update }, since: op.since });
      }
      failures++;
      opts.onError?.(String(err), batch.length);
      schedule(Math.min(1000, flushMs * 2 ** Math.min(failures, 8)));
    }
  }

  return {
    /** A complete row (values in LEDGER_KEYS order), written with the next batch. */
    insertValues(values: (string | number | null)[]): void {
      ready.push(values);
      schedule();
    },

    begin(row: LedgerInsert): void {
      pending.set(row.id, { insert: row, since: performance.now() });
      schedule(inFlightAfterMs);
    },
    finish(id: string, update: LedgerUpdate): void {
      const op = pending.get(id);
      if (op) op.update = { ...op.update, ...update };
      else pending.set(id, { update, since: performance.now() });
      schedule();
    },
    flush,
    get pending() {
      return pending.size + ready.length;
    },
  };
}
