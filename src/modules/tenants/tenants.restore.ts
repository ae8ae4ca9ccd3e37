// How a restore takes the tenants module's rows from an archive (db/tenant-rows.ts: restoreRow).
import type { Row } from "../../db/tenant-rows.ts";

/** The tenant record: an archive's status must be one we know; it is updated now. */
export function restoreTenantRow(row: Row, o: { now: number }): string | undefined {
  row.updated_at = o.now;
  if (row.status !== "active" && row.status !== "suspended") return "the tenant row has an unknown status";
  return undefined;
}

/**
 * A token hash: restored with the tenant under its own id (its old token works again), left out of a
 * copy under another id (which gets a token of its own). Ids are the database's to give.
 */
export function restoreTokenRow(row: Row, o: { copy: boolean }): "skip" | string | undefined {
  if (o.copy) return "skip";
  delete row.id;
  const hash = row.hash;
  if (!(hash instanceof Uint8Array) || hash.length !== 32) return "a token hash is not 32 bytes";
  return undefined;
}
