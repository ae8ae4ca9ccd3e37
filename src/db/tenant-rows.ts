// A tenant's rows in the tables modules declare as theirs (TenantData.tables in modules/module.ts):
// read out for a backup, put back by a restore, deleted with the tenant. The tables and columns named
// here come from the modules' declarations, never from an archive; names are checked all the same,
// since they are interpolated into SQL.
import type { Database } from "bun:sqlite";

export type Row = Record<string, string | number | null | Uint8Array>;

export interface TenantTable {
  /** The SQL table. */
  table: string;
  /** The column holding the tenant id. */
  tenantColumn: string;
  /**
   * How long the rows live:
   * - "tenant" (the default): deleted with the tenant; backed up and restored with it.
   * - "incarnation": each row carries the incarnation of the tenant it was written for (a column
   *   `incarnation`) and outlives the tenant (the operator's billing history). Deleting the tenant
   *   keeps them; a backup takes the current incarnation's; a restore stamps them with the restored
   *   tenant's incarnation, and a row already there (same id) is the same row, which becomes the
   *   restored incarnation's again.
   * - "log": kept for ever (the audit log); never backed up.
   */
  keep?: "tenant" | "incarnation" | "log";
  /** false: not in backups (rows derived from others, or records about the backups themselves). */
  backup?: boolean;
  /** The tenant record itself: exactly one row, first in every backup and restore; it holds the incarnation. */
  root?: boolean;
  /**
   * One row of an archive, before it is stored: fix it up in place (a fresh id for a copy under
   * another tenant id), leave it out ("skip"), or refuse the archive (return the reason).
   */
  restoreRow?(row: Row, o: { copy: boolean; now: number }): "skip" | string | undefined;
  /** After the table's rows are stored, inside the restore's transaction (a rollup rebuilt from them). */
  restored?(sqlite: Database, tenantId: string, incarnation: string): void;
}

const NAME = /^[a-z_][a-z0-9_]*$/;

/** Refuses a malformed declaration at start: bad names, a table declared twice, not exactly one root. */
export function checkTenantTables(tables: readonly TenantTable[]): void {
  const seen = new Set<string>();
  for (const t of tables) {
    if (!NAME.test(t.table) || !NAME.test(t.tenantColumn)) throw new Error(`tenant table ${JSON.stringify(t.table)}: table and column names must match ${NAME}`);
    if (seen.has(t.table)) throw new Error(`tenant table ${t.table} is declared twice`);
    seen.add(t.table);
  }
  const roots = tables.filter((t) => t.root);
  if (roots.length !== 1 || roots[0]!.backup === false || roots[0]!.keep) throw new Error("exactly one tenant table is the root (the tenant record): backed up, and going with the tenant");
}

/** The tables a backup carries: the root (the tenant record, which holds the incarnation) first, then in module order. */
export function backedUp(tables: readonly TenantTable[]): TenantTable[] {
  const carried = tables.filter((t) => t.backup !== false && t.keep !== "log");
  return [...carried.filter((t) => t.root), ...carried.filter((t) => !t.root)];
}

/** The tenant's rows of one table (an incarnation table: that incarnation's only). */
export function tenantRows(sqlite: Database, t: TenantTable, tenantId: string, incarnation: string): Iterable<Row> {
  return (
    t.keep === "incarnation"
      ? sqlite.query(`SELECT * FROM ${t.table} WHERE ${t.tenantColumn} = ?1 AND incarnation = ?2`).iterate(tenantId, incarnation)
      : sqlite.query(`SELECT * FROM ${t.table} WHERE ${t.tenantColumn} = ?1`).iterate(tenantId)
  ) as Iterable<Row>;
}

export function columnsOf(sqlite: Database, table: string): Set<string> {
  return new Set((sqlite.query(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
}

/** Stores one row. In an incarnation table a row with the same id of the same tenant id is taken over, not duplicated. */
export function insertTenantRow(sqlite: Database, t: TenantTable, row: Row): void {
  const cols = Object.keys(row);
  const conflict = t.keep === "incarnation" ? ` ON CONFLICT (id) DO UPDATE SET incarnation = excluded.incarnation WHERE ${t.table}.${t.tenantColumn} = excluded.${t.tenantColumn}` : "";
  sqlite.query(`INSERT INTO ${t.table} (${cols.map((c) => `"${c}"`).join(", ")}) VALUES (${cols.map((_, i) => `?${i + 1}`).join(", ")})${conflict}`).run(...(cols.map((c) => row[c]) as never[]));
}

/** Deletes the tenant's rows of every table whose rows go with the tenant (not the root: its owner deletes it). */
export function deleteTenantRows(sqlite: Database, tables: readonly TenantTable[], tenantId: string): void {
  for (const t of tables) {
    if (t.root || (t.keep ?? "tenant") !== "tenant") continue;
    sqlite.query(`DELETE FROM ${t.table} WHERE ${t.tenantColumn} = ?1`).run(tenantId);
  }
}

/** restoreRow of a table keyed by random ids: a copy under another tenant id gets ids of its own. */
export function freshIdOnCopy(row: Row, o: { copy: boolean }): undefined {
  if (o.copy) row.id = crypto.randomUUID();
  return undefined;
}
