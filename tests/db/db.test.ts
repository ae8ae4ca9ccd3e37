import { describe, expect, test } from "bun:test";
import path from "node:path";
import fs from "node:fs";
import { Database } from "bun:sqlite";
import { getTableConfig, type SQLiteTable } from "drizzle-orm/sqlite-core";
import * as schema from "../../src/app/schema.ts";
import { openDatabase } from "../../src/db/client.ts";
import { SCHEMA_VERSION } from "../../src/db/migrate.ts";
import { makeHome } from "../helpers/core.ts";

describe("state.db", () => {
  test("a fresh database is migrated, WAL, synchronous=FULL, foreign keys on, 0600", () => {
    const file = path.join(makeHome(), "state.db");
    const h = openDatabase(file);
    expect(h.schemaVersion).toBe(SCHEMA_VERSION);
    expect(h.sqlite.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(h.sqlite.query("PRAGMA synchronous").get()).toEqual({ synchronous: 2 });
    expect(h.sqlite.query("PRAGMA foreign_keys").get()).toEqual({ foreign_keys: 1 });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    h.close();
    expect(openDatabase(file).schemaVersion).toBe(SCHEMA_VERSION); // idempotent
  });

  test("the migrations create exactly the tables and columns the drizzle schema declares", () => {
    const h = openDatabase(path.join(makeHome(), "state.db"));
    const tables = Object.values(schema).filter((v) => typeof v === "object" && v !== null && Symbol.for("drizzle:IsDrizzleTable") in v) as unknown as SQLiteTable[];
    expect(tables.length).toBeGreaterThanOrEqual(5);
    for (const t of tables) {
      const cfg = getTableConfig(t);
      const cols = (h.sqlite.query(`PRAGMA table_info(${cfg.name})`).all() as { name: string }[]).map((c) => c.name).sort();
      expect({ table: cfg.name, cols }).toEqual({ table: cfg.name, cols: cfg.columns.map((c) => c.name).sort() });
    }
    h.close();
  });

  test("a database from a newer binary is refused with a clear error and left untouched", () => {
    const file = path.join(makeHome(), "state.db");
    const raw = new Database(file, { create: true });
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 5}`);
    raw.close();
    const before = fs.readFileSync(file);
    expect(() => openDatabase(file)).toThrow(`state.db has schema version ${SCHEMA_VERSION + 5}, but this openclaw binary knows only up to ${SCHEMA_VERSION}`);
    expect(fs.readFileSync(file)).toEqual(before);
  });
});
