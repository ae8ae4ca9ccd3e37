// A tenant's rows in state.db, out to JSON lines and back. On the way back nothing in the archive is
// trusted: a table must be one we know, each column must exist in it (names are never interpolated
// unchecked), values must be scalars, and every row must belong to the archive's tenant.
import type { Database } from "bun:sqlite";
import fs from "node:fs";
import path from "node:path";
import { AppError } from "../../core/errors.ts";
import { INCARNATION_PATTERN, newIncarnation } from "../../lib/ids.ts";
import { DailySums } from "../usage/usage-daily.ts";
import { STATE_TABLES, type StateTable } from "./archive.ts";

/** The column holding the tenant id in each table. */
const TENANT_COLUMN: Record<StateTable, string> = {
  tenants: "id",
  tenant_quotas: "tenant_id",
  tenant_tokens: "tenant_id",
  usage_ledger: "tenant_id",
  sandbox_runs: "tenant_id",
};

/** Tables whose rows outlive a tenant, keyed to its incarnation: only the current incarnation's are backed up. */
const BY_INCARNATION: ReadonlySet<StateTable> = new Set(["usage_ledger", "sandbox_runs"]);

type Scalar = string | number | null;

function encodeValue(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $b64: Buffer.from(v).toString("base64") };
  if (typeof v === "bigint") return Number(v);
  return v;
}

/** Writes each table's rows for the tenant (its current incarnation) to `<dir>/<table>.jsonl`; returns the files. */
export function dumpState(sqlite: Database, tenantId: string, incarnation: string, dir: string): { table: StateTable; file: string }[] {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out: { table: StateTable; file: string }[] = [];
  // One read transaction: the rows of all tables are from the same moment.
  sqlite.exec("BEGIN");
  try {
    for (const table of STATE_TABLES) {
      const file = path.join(dir, `${table}.jsonl`);
      const fd = fs.openSync(file, "wx", 0o600);
      try {
        let batch = "";
        const rows = BY_INCARNATION.has(table)
          ? sqlite.query(`SELECT * FROM ${table} WHERE ${TENANT_COLUMN[table]} = ?1 AND incarnation = ?2`).iterate(tenantId, incarnation)
          : sqlite.query(`SELECT * FROM ${table} WHERE ${TENANT_COLUMN[table]} = ?1`).iterate(tenantId);
        for (const row of rows as Iterable<Record<string, unknown>>) {
          const encoded: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(row)) encoded[k] = encodeValue(v);
          batch += `${JSON.stringify(encoded)}\n`;
          if (batch.length > 1 << 20) {
            fs.writeSync(fd, batch);
            batch = "";
          }
        }
        if (batch) fs.writeSync(fd, batch);
      } finally {
        fs.closeSync(fd);
      }
      out.push({ table, file });
    }
  } finally {
    sqlite.exec("COMMIT");
  }
  return out;
}

/** Lines of a JSONL file, read in chunks (bounded memory), each capped at 1 MiB. */
function* lines(file: string): Generator<string> {
  const fd = fs.openSync(file, "r");
  const buf = Buffer.alloc(1 << 20);
  let carry = "";
  try {
    while (true) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      carry += buf.subarray(0, n).toString("utf8");
      let i: number;
      while ((i = carry.indexOf("\n")) >= 0) {
        const line = carry.slice(0, i);
        carry = carry.slice(i + 1);
        if (line) yield line;
      }
      if (carry.length > 1 << 20) throw new AppError("INVALID_PARAMS", `refusing the archive: a row in ${path.basename(file)} is longer than 1 MiB; nothing was restored`);
    }
    if (carry) yield carry;
  } finally {
    fs.closeSync(fd);
  }
}

function refuse(message: string): AppError {
  return new AppError("INVALID_PARAMS", `refusing the archive: ${message}; nothing was restored`);
}

function decodeRow(table: StateTable, line: string, columns: Set<string>): Record<string, Scalar | Uint8Array> {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw refuse(`state/${table}.jsonl has a line that is not JSON`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw refuse(`state/${table}.jsonl has a row that is not an object`);
  const row: Record<string, Scalar | Uint8Array> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!columns.has(k)) throw refuse(`state/${table}.jsonl names a column ${JSON.stringify(k.slice(0, 64))} that ${table} does not have`);
    if (v === null || typeof v === "string" || (typeof v === "number" && Number.isFinite(v))) row[k] = v;
    else if (typeof v === "boolean") row[k] = v ? 1 : 0;
    else if (v && typeof v === "object" && typeof (v as { $b64?: unknown }).$b64 === "string" && Object.keys(v).length === 1) row[k] = Buffer.from((v as { $b64: string }).$b64, "base64");
    else throw refuse(`state/${table}.jsonl has a value of column ${k} that is not a plain value`);
  }
  return row;
}

export interface ApplyOptions {
  sourceTenant: string;
  targetTenant: string;
  /** Mint a new incarnation (a copy under another id); else the archive's own is kept (one is minted for archives made before incarnations). */
  newIncarnation: boolean;
  /** Restore the token hashes (same id) or not (a new token is minted for --as). */
  keepTokens: boolean;
  /** Give usage and sandbox rows new ids (restoring a copy beside the original). */
  newIds: boolean;
  now: number;
  maxRows: number;
}

/**
 * Inserts the archive's rows; call inside the restore's transaction. Returns row counts per table.
 * Every row is keyed to the restored tenant's incarnation: its own (a restore of the same tenant), or a
 * new one. Usage and sandbox rows of the same incarnation already in state.db (the ledger keeps them
 * after a delete) are the same rows: they stay, and are the restored tenant's again.
 */
export function applyState(sqlite: Database, stateDir: string, o: ApplyOptions): Record<string, number> {
  const counts: Record<string, number> = {};
  let total = 0;
  let incarnation: string | null = null;
  for (const table of STATE_TABLES) {
    const file = path.join(stateDir, `${table}.jsonl`);
    if (!fs.existsSync(file)) {
      if (table === "tenants") throw refuse("it has no state/tenants.jsonl");
      continue;
    }
    const columns = new Set((sqlite.query(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
    const tenantCol = TENANT_COLUMN[table];
    let n = 0;
    for (const line of lines(file)) {
      if (++total > o.maxRows) throw refuse(`more than ${o.maxRows} rows of state`);
      const row = decodeRow(table, line, columns);
      if (row[tenantCol] !== o.sourceTenant) throw refuse(`state/${table}.jsonl has a row of another tenant`);
      row[tenantCol] = o.targetTenant;
      if (table === "tenants") {
        if (n > 0) throw refuse("state/tenants.jsonl has more than one tenant");
        row.updated_at = o.now;
        if (row.status !== "active" && row.status !== "suspended") throw refuse("the tenant row has an unknown status");
        const own = typeof row.incarnation === "string" && INCARNATION_PATTERN.test(row.incarnation) ? row.incarnation : null;
        incarnation = !o.newIncarnation && own ? own : newIncarnation();
        row.incarnation = incarnation;
      } else if (BY_INCARNATION.has(table)) {
        // STATE_TABLES puts tenants first, so the incarnation is known here.
        row.incarnation = incarnation;
      }
      if (table === "tenant_tokens") {
        if (!o.keepTokens) continue;
        delete row.id;
        const hash = row.hash;
        if (!(hash instanceof Uint8Array) || hash.length !== 32) throw refuse("a token hash is not 32 bytes");
      }
      if ((table === "usage_ledger" || table === "sandbox_runs") && o.newIds) row.id = crypto.randomUUID();
      const cols = Object.keys(row);
      // A row already there (same id) is the same request or run: it becomes the restored incarnation's
      // if it is this tenant id's (an archive from before incarnations brings back rows the migration
      // could not attribute); another id's row is left as it is.
      const conflict = BY_INCARNATION.has(table) ? ` ON CONFLICT (id) DO UPDATE SET incarnation = excluded.incarnation WHERE ${table}.tenant_id = excluded.tenant_id` : "";
      try {
        sqlite.query(`INSERT INTO ${table} (${cols.map((c) => `"${c}"`).join(", ")}) VALUES (${cols.map((_, i) => `?${i + 1}`).join(", ")})${conflict}`).run(...(cols.map((c) => row[c]) as never[]));
      } catch (err) {
        throw refuse(`a row of ${table} cannot be stored (${(err as Error).message})`);
      }
      n++;
    }
    if (table === "tenants" && n !== 1) throw refuse("state/tenants.jsonl has no tenant row");
    counts[table] = n;
  }
  // usage_daily is derived: rebuilt from the restored incarnation's settled ledger rows.
  sqlite.query("DELETE FROM usage_daily WHERE tenant_id = ?1 AND incarnation = ?2").run(o.targetTenant, incarnation);
  const sums = new DailySums();
  for (const r of sqlite
    .query(
      `SELECT tenant_id AS tenantId, incarnation, model, started_at AS startedAt, input_tokens AS inputTokens, output_tokens AS outputTokens, cache_read_tokens AS cacheReadTokens,
              cache_write_tokens AS cacheWriteTokens, reasoning_tokens AS reasoningTokens, total_tokens AS totalTokens, cost_micro_usd AS costMicroUsd
       FROM usage_ledger WHERE tenant_id = ?1 AND incarnation = ?2 AND status != 'in_flight'`,
    )
    .iterate(o.targetTenant, incarnation) as Iterable<Parameters<DailySums["add"]>[0]>)
    sums.add(r);
  sums.write(sqlite);
  return counts;
}
