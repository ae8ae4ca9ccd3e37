// A tenant's rows in state.db, out to JSON lines and back, for the tables the modules declare
// (modules/module.ts: TenantData.tables; db/tenant-rows.ts says what each option means). On the way
// back nothing in the archive is trusted: a table must be one we back up, each column must exist in
// it (names are never interpolated unchecked), values must be scalars, and every row must belong to
// the archive's tenant.
import type { Database } from "bun:sqlite";
import fs from "node:fs";
import path from "node:path";
import { AppError } from "../../core/errors.ts";
import { columnsOf, insertTenantRow, tenantRows, type Row, type TenantTable } from "../../db/tenant-rows.ts";
import { INCARNATION_PATTERN, newIncarnation } from "../../lib/ids.ts";
import { DEFAULT_MAX_JSON_DEPTH, depthMessage, jsonDepthExcess } from "../../lib/json-safe.ts";
import { refuse } from "./archive-format.ts";

function encodeValue(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $b64: Buffer.from(v).toString("base64") };
  if (typeof v === "bigint") return Number(v);
  return v;
}

/** Writes each table's rows for the tenant (its current incarnation) to `<dir>/<table>.jsonl`; returns the files. */
export function dumpState(sqlite: Database, tables: readonly TenantTable[], tenantId: string, incarnation: string, dir: string): { table: string; file: string }[] {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out: { table: string; file: string }[] = [];
  // One read transaction: the rows of all tables are from the same moment.
  sqlite.exec("BEGIN");
  try {
    for (const t of tables) {
      const file = path.join(dir, `${t.table}.jsonl`);
      const fd = fs.openSync(file, "wx", 0o600);
      try {
        let batch = "";
        for (const row of tenantRows(sqlite, t, tenantId, incarnation)) {
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
      out.push({ table: t.table, file });
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

function decodeRow(table: string, line: string, columns: Set<string>): Row {
  // The same depth cap as every JSON the gateway is sent (a row is a flat object; deeper is refused unparsed).
  const tooDeep = jsonDepthExcess(line, DEFAULT_MAX_JSON_DEPTH);
  if (tooDeep !== null) throw refuse(`state/${table}.jsonl has a row ${depthMessage(DEFAULT_MAX_JSON_DEPTH)} (at character ${tooDeep})`);
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw refuse(`state/${table}.jsonl has a line that is not JSON`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw refuse(`state/${table}.jsonl has a row that is not an object`);
  const row: Row = {};
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
  /**
   * A copy under another id (`--as`): the tenant gets a new incarnation and each table's restoreRow
   * makes its rows the copy's (new ids; token hashes left out). Otherwise the archive's incarnation is
   * kept (one is minted for archives made before incarnations) and the tenant comes back as itself.
   */
  copy: boolean;
  now: number;
  maxRows: number;
}

/**
 * Inserts the archive's rows, the root table (the tenant record) first; call inside the restore's
 * transaction. Returns row counts per table. Every row of an incarnation table is stamped with the
 * restored tenant's incarnation: its own (a restore of the same tenant), or a new one. Rows of the
 * same incarnation already in state.db (they outlive a delete) are the same rows: they stay, and are
 * the restored tenant's again.
 */
export function applyState(sqlite: Database, tables: readonly TenantTable[], stateDir: string, o: ApplyOptions): Record<string, number> {
  const counts: Record<string, number> = {};
  let total = 0;
  let incarnation: string | null = null;
  for (const t of tables) {
    const file = path.join(stateDir, `${t.table}.jsonl`);
    if (!fs.existsSync(file)) {
      if (t.root) throw refuse(`it has no state/${t.table}.jsonl`);
      continue;
    }
    const columns = columnsOf(sqlite, t.table);
    let n = 0;
    for (const line of lines(file)) {
      if (++total > o.maxRows) throw refuse(`more than ${o.maxRows} rows of state`);
      const row = decodeRow(t.table, line, columns);
      if (row[t.tenantColumn] !== o.sourceTenant) throw refuse(`state/${t.table}.jsonl has a row of another tenant`);
      row[t.tenantColumn] = o.targetTenant;
      if (t.root) {
        if (n > 0) throw refuse(`state/${t.table}.jsonl has more than one tenant`);
        const own = typeof row.incarnation === "string" && INCARNATION_PATTERN.test(row.incarnation) ? row.incarnation : null;
        incarnation = !o.copy && own ? own : newIncarnation();
        row.incarnation = incarnation;
      } else if (t.keep === "incarnation") {
        // The root table comes first, so the incarnation is known here.
        row.incarnation = incarnation;
      }
      const verdict = t.restoreRow?.(row, { copy: o.copy, now: o.now });
      if (verdict === "skip") continue;
      if (verdict) throw refuse(verdict);
      try {
        insertTenantRow(sqlite, t, row);
      } catch (err) {
        throw refuse(`a row of ${t.table} cannot be stored (${(err as Error).message})`);
      }
      n++;
    }
    if (t.root && n !== 1) throw refuse(`state/${t.table}.jsonl has no tenant row`);
    counts[t.table] = n;
  }
  for (const t of tables) t.restored?.(sqlite, o.targetTenant, incarnation!);
  return counts;
}
