// Embedded migrations, applied on open. PRAGMA user_version records how many have run; a database
// written by a newer binary (higher version than we know) is refused instead of being misread.
import type { Database } from "bun:sqlite";
import { AppError } from "../core/errors.ts";
import { MIGRATIONS } from "./migrations/index.ts";

export const SCHEMA_VERSION = MIGRATIONS.length;

export function refuseNewer(sqlite: Database): void {
  const current = readVersion(sqlite);
  if (current > SCHEMA_VERSION) {
    throw new AppError(
      "DB_TOO_NEW",
      `state.db has schema version ${current}, but this openclaw binary knows only up to ${SCHEMA_VERSION}; upgrade the binary (the database was written by a newer release)`,
    );
  }
}

export function migrate(sqlite: Database): number {
  refuseNewer(sqlite);
  const current = readVersion(sqlite);
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    sqlite.exec("BEGIN IMMEDIATE");
    try {
      // Another process may have migrated while we waited for the lock.
      if (readVersion(sqlite) >= m.version) {
        sqlite.exec("COMMIT");
        continue;
      }
      for (const stmt of m.sql.split("--> statement-breakpoint")) {
        if (stmt.trim()) sqlite.exec(stmt);
      }
      sqlite.exec(`PRAGMA user_version = ${m.version}`);
      sqlite.exec("COMMIT");
    } catch (err) {
      sqlite.exec("ROLLBACK");
      throw err;
    }
  }
  return readVersion(sqlite);
}

function readVersion(sqlite: Database): number {
  const row = sqlite.query("PRAGMA user_version").get() as { user_version: number } | null;
  return row?.user_version ?? 0;
}
