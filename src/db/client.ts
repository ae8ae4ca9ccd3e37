// state.db: bun:sqlite under drizzle. WAL with synchronous=FULL so an acknowledged change survives
// power loss; busy_timeout so the CLI and a running gateway can both write; foreign keys on.
import fs from "node:fs";
import { Database } from "bun:sqlite";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { migrate, refuseNewer } from "./migrate.ts";

/** Drizzle over the connection. Tables belong to modules; none are registered here (no relational queries). */
export type Db = BunSQLiteDatabase;

export interface DbHandle {
  sqlite: Database;
  db: Db;
  schemaVersion: number;
  file: string;
  close(): void;
}

/**
 * Every transaction made with `sqlite.transaction(fn)` on this connection begins IMMEDIATE. Other
 * connections write to state.db too (the usage ledger's and stored responses' workers, the CLI), and
 * a deferred transaction that reads and then writes after another connection committed fails at once
 * with SQLITE_BUSY ("database is locked"): busy_timeout cannot wait that out. Taking the write lock
 * first makes it wait its turn instead. (A transaction inside another is a savepoint, as before.)
 */
function immediateByDefault(sqlite: Database): void {
  const make = sqlite.transaction.bind(sqlite);
  sqlite.transaction = ((fn: (...args: any[]) => any) => {
    const t = make(fn);
    const run = ((...args: any[]) => t.immediate(...args)) as typeof t;
    return Object.assign(run, { deferred: t.deferred, immediate: t.immediate, exclusive: t.exclusive });
  }) as typeof sqlite.transaction;
}

export function openDatabase(file: string): DbHandle {
  const sqlite = new Database(file, { create: true, strict: true });
  try {
    sqlite.exec("PRAGMA busy_timeout = 10000");
    refuseNewer(sqlite); // before any pragma that would rewrite the file header
    sqlite.exec("PRAGMA journal_mode = WAL");
    sqlite.exec("PRAGMA synchronous = FULL");
    sqlite.exec("PRAGMA foreign_keys = ON");
    const schemaVersion = migrate(sqlite);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) {
      if (fs.existsSync(f)) fs.chmodSync(f, 0o600);
    }
    immediateByDefault(sqlite);
    const db = drizzle(sqlite);
    let closed = false;
    return {
      sqlite,
      db,
      schemaVersion,
      file,
      close() {
        if (closed) return;
        closed = true;
        try {
          sqlite.exec("PRAGMA wal_checkpoint(TRUNCATE)");
        } catch {
          // another connection may hold the database; the WAL stays valid either way
        }
        sqlite.close();
      },
    };
  } catch (err) {
    sqlite.close();
    throw err;
  }
}
