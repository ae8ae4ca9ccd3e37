// Keeping usage_daily in step with the ledger: settled rows are summed per (tenant, incarnation, UTC day, model)
// and added with one upsert per key, inside the transaction that writes the rows.
import type { Database } from "bun:sqlite";

export interface SettledRow {
  tenantId: string;
  incarnation: string;
  model: string;
  startedAt: number;
  inputTokens?: number | null;
  outputTokens?: number | null;
  cacheReadTokens?: number | null;
  cacheWriteTokens?: number | null;
  reasoningTokens?: number | null;
  totalTokens?: number | null;
  costMicroUsd?: number | null;
}

const FIELDS = ["inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens", "reasoningTokens", "totalTokens", "costMicroUsd"] as const;

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export class DailySums {
  private readonly sums = new Map<string, { tenantId: string; incarnation: string; day: string; model: string; requests: number; v: number[] }>();

  add(row: SettledRow): void {
    const day = utcDay(row.startedAt);
    const key = `${row.tenantId}\u0000${row.incarnation}\u0000${day}\u0000${row.model}`;
    let e = this.sums.get(key);
    if (!e) {
      e = { tenantId: row.tenantId, incarnation: row.incarnation, day, model: row.model, requests: 0, v: FIELDS.map(() => 0) };
      this.sums.set(key, e);
    }
    e.requests++;
    FIELDS.forEach((f, i) => (e!.v[i]! += row[f] ?? 0));
  }

  clear(): void {
    this.sums.clear();
  }

  /** Adds the sums to usage_daily. Call inside the writing transaction. */
  write(sqlite: Database): void {
    if (this.sums.size === 0) return;
    const stmt = sqlite.prepare(
      `INSERT INTO usage_daily (tenant_id, incarnation, day, model, requests, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_micro_usd)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant_id, incarnation, day, model) DO UPDATE SET
         requests = requests + excluded.requests, input_tokens = input_tokens + excluded.input_tokens,
         output_tokens = output_tokens + excluded.output_tokens, cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
         cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens, reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
         total_tokens = total_tokens + excluded.total_tokens, cost_micro_usd = cost_micro_usd + excluded.cost_micro_usd`,
    );
    for (const e of this.sums.values()) stmt.run(e.tenantId, e.incarnation, e.day, e.model, e.requests, ...e.v);
    this.sums.clear();
  }
}

/** Rebuilds one incarnation's daily sums from its settled ledger rows (after a restore put them back). */
export function rebuildDaily(sqlite: Database, tenantId: string, incarnation: string): void {
  sqlite.query("DELETE FROM usage_daily WHERE tenant_id = ?1 AND incarnation = ?2").run(tenantId, incarnation);
  const sums = new DailySums();
  for (const r of sqlite
    .query(
      `SELECT tenant_id AS tenantId, incarnation, model, started_at AS startedAt, input_tokens AS inputTokens, output_tokens AS outputTokens, cache_read_tokens AS cacheReadTokens,
              cache_write_tokens AS cacheWriteTokens, reasoning_tokens AS reasoningTokens, total_tokens AS totalTokens, cost_micro_usd AS costMicroUsd
       FROM usage_ledger WHERE tenant_id = ?1 AND incarnation = ?2 AND status != 'in_flight'`,
    )
    .iterate(tenantId, incarnation) as Iterable<SettledRow>)
    sums.add(r);
  sums.write(sqlite);
}
