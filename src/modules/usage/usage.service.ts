// Reading the usage ledger: today's and this month's totals, per model, per day, per tenant.
// Every read flushes the ledger's pending rows first, so what was routed is what is reported.
import type { DbHandle } from "../../db/client.ts";
import type { Clock } from "../../core/clock.ts";
import { AppError } from "../../core/errors.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import { DAY_MS, utcDayStart } from "../../lib/time.ts";
import type { Ledger } from "./ledger.ts";
import { utcDay } from "./usage-daily.ts";

export interface Totals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  totalTokens: number;
  costMicroUsd: number;
  costUsd: number;
}

export interface HistoryRow extends Totals {
  date: string;
  tenantId: string;
  /** Which tenant of this id the usage was for ("" for rows older than incarnations whose tenant is gone). */
  incarnation: string;
  model: string;
}

/** Matches no row: the scope of a tenant id that no tenant has now. */
const NO_TENANT = "(none)";

// Everything reads usage_daily (kept by the ledger writer), so reports cost the same however many
// requests a tenant has made.
const SUMS = `coalesce(sum(requests),0) AS requests, coalesce(sum(input_tokens),0) AS inputTokens, coalesce(sum(output_tokens),0) AS outputTokens,
  coalesce(sum(cache_read_tokens),0) AS cacheReadTokens, coalesce(sum(cache_write_tokens),0) AS cacheWriteTokens,
  coalesce(sum(reasoning_tokens),0) AS reasoningTokens, coalesce(sum(total_tokens),0) AS totalTokens, coalesce(sum(cost_micro_usd),0) AS costMicroUsd`;

type RawTotals = Omit<Totals, "costUsd">;
type RawHistory = RawTotals & { date: string; tenantId: string; incarnation: string; model: string };
const withUsd = <T extends RawTotals>(r: T): T & { costUsd: number } => ({ ...r, costUsd: r.costMicroUsd / 1_000_000 });

/** "YYYY-MM-DD" → UTC midnight in ms; throws a clear error otherwise. */
export function parseDate(value: string, name: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw new AppError("INVALID_PARAMS", `${name} must be a date as YYYY-MM-DD (got ${JSON.stringify(value)})`);
  }
  return ms;
}

export function createUsageService(deps: { handle: DbHandle; ledger: Ledger; clock: Clock; incarnationOf: (tenantId: string) => string | null }) {
  const { sqlite } = deps.handle;
  // A tenant's own view is its current incarnation's rows only: a tenant that reuses a deleted
  // tenant's id never sees the previous owner's usage. Views across tenants (the operator's billing)
  // keep every incarnation apart.
  const scope = (tenantId: string) => deps.incarnationOf(tenantId) ?? NO_TENANT;
  // Days are "YYYY-MM-DD" strings, so ranges compare as text: start <= day < end.
  const q = {
    used: sqlite.query(`SELECT coalesce(sum(total_tokens),0) AS tokens, coalesce(sum(cost_micro_usd),0) AS micro FROM usage_daily WHERE tenant_id = ?1 AND incarnation = ?2 AND day = ?3`),
    totals: sqlite.query(`SELECT ${SUMS} FROM usage_daily WHERE tenant_id = ?1 AND incarnation = ?2 AND day >= ?3 AND day < ?4`),
    byModel: sqlite.query(`SELECT model, ${SUMS} FROM usage_daily WHERE tenant_id = ?1 AND incarnation = ?2 AND day >= ?3 AND day < ?4 GROUP BY model ORDER BY model`),
    historyOne: sqlite.query(
      `SELECT day AS date, tenant_id AS tenantId, incarnation, model, ${SUMS} FROM usage_daily WHERE tenant_id = ?1 AND incarnation = ?2 AND day >= ?3 AND day < ?4 GROUP BY day, model ORDER BY day, model`,
    ),
    historyId: sqlite.query(
      `SELECT day AS date, tenant_id AS tenantId, incarnation, model, ${SUMS} FROM usage_daily WHERE tenant_id = ?1 AND day >= ?2 AND day < ?3 GROUP BY day, incarnation, model ORDER BY day, incarnation, model`,
    ),
    historyAll: sqlite.query(
      `SELECT day AS date, tenant_id AS tenantId, incarnation, model, ${SUMS} FROM usage_daily WHERE day >= ?1 AND day < ?2 GROUP BY day, tenant_id, incarnation, model ORDER BY day, tenant_id, incarnation, model`,
    ),
    byTenant: sqlite.query(`SELECT tenant_id AS tenantId, incarnation, ${SUMS} FROM usage_daily WHERE day >= ?1 AND day < ?2 GROUP BY tenant_id, incarnation ORDER BY tenant_id, incarnation`),
  };

  function range(from?: string, to?: string): [string, string] {
    const now = deps.clock.now();
    const start = from ? parseDate(from, "from") : utcDayStart(now) - 29 * DAY_MS;
    const end = (to ? parseDate(to, "to") : utcDayStart(now)) + DAY_MS;
    if (end <= start) throw new AppError("INVALID_PARAMS", "to is before from");
    if (end - start > 3660 * DAY_MS) throw new AppError("INVALID_PARAMS", "the range is longer than ten years");
    return [utcDay(start), utcDay(end)];
  }

  return {
    usedOn(tenantId: string, dayStart: number): { tokens: number; micro: number } {
      deps.ledger.flush();
      return q.used.get(tenantId, scope(tenantId), utcDay(dayStart)) as { tokens: number; micro: number };
    },

    /** Today, this month and this month per model, for one tenant (its current incarnation). */
    summary(tenant: TenantScope) {
      const { tenantId } = tenant;
      deps.ledger.flush();
      const inc = scope(tenantId);
      const now = deps.clock.now();
      const day = utcDayStart(now);
      const d = new Date(now);
      const month = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
      const nextMonth = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      const [today, tomorrow, m0, m1] = [utcDay(day), utcDay(day + DAY_MS), utcDay(month), utcDay(nextMonth)];
      return {
        tenantId,
        today: { date: today, ...withUsd(q.totals.get(tenantId, inc, today, tomorrow) as RawTotals) },
        month: { month: m0.slice(0, 7), ...withUsd(q.totals.get(tenantId, inc, m0, m1) as RawTotals) },
        byModel: (q.byModel.all(tenantId, inc, m0, m1) as (RawTotals & { model: string })[]).map(withUsd),
      };
    },

    /** The tenant's usage per day and model, from..to inclusive, UTC dates (its current incarnation only). */
    history(opts: { tenant: TenantScope; from?: string; to?: string }): HistoryRow[] {
      deps.ledger.flush();
      const [start, end] = range(opts.from, opts.to);
      const id = opts.tenant.tenantId;
      return (q.historyOne.all(id, scope(id), start, end) as RawHistory[]).map(withUsd);
    },

    /**
     * The operator's billing view: per day, tenant and model, from..to inclusive, each incarnation of
     * an id apart (a deleted tenant's too); every tenant, or every incarnation of one id.
     */
    daily(opts: { tenantId?: string; from?: string; to?: string }): HistoryRow[] {
      deps.ledger.flush();
      const [start, end] = range(opts.from, opts.to);
      return ((opts.tenantId ? q.historyId.all(opts.tenantId, start, end) : q.historyAll.all(start, end)) as RawHistory[]).map(withUsd);
    },

    /** Totals per tenant over a range, each incarnation of an id apart (the operator's view). */
    byTenant(opts: { from?: string; to?: string }): (Totals & { tenantId: string; incarnation: string })[] {
      deps.ledger.flush();
      const [start, end] = range(opts.from, opts.to);
      return (q.byTenant.all(start, end) as (RawTotals & { tenantId: string; incarnation: string })[]).map(withUsd);
    },
  };
}

export type UsageService = ReturnType<typeof createUsageService>;
