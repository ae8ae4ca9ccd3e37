// commitDeferred: a commit that does not wait for the disk on the event loop, whose WAL sync is a promise.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { openDatabase } from "../../src/db/client.ts";
import { commitDeferred } from "../../src/db/deferred-sync.ts";

const level = (db: Database) => (db.query("PRAGMA synchronous").get() as { synchronous: number }).synchronous;

describe("commitDeferred", () => {
  test("commits, syncs the WAL as a promise, and leaves the connection at synchronous=FULL", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "defer-"));
    const h = openDatabase(path.join(dir, "state.db"));
    try {
      h.sqlite.exec("CREATE TABLE t (a INTEGER)");
      expect(level(h.sqlite)).toBe(2);
      let during = -1;
      const { durable } = commitDeferred(h, () => {
        during = level(h.sqlite);
        h.sqlite.transaction(() => h.sqlite.query("INSERT INTO t VALUES (1)").run())();
      });
      expect(during).toBe(1); // NORMAL while committing
      expect(level(h.sqlite)).toBe(2);
      await durable;
      // Committed: another connection sees it.
      const other = new Database(h.file, { readonly: true });
      expect((other.query("SELECT count(*) AS n FROM t").get() as { n: number }).n).toBe(1);
      other.close();
    } finally {
      h.close();
    }
  });

  test("a failing commit is thrown and still leaves synchronous=FULL; it cannot start inside a transaction", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "defer-"));
    const h = openDatabase(path.join(dir, "state.db"));
    try {
      expect(() =>
        commitDeferred(h, () => {
          throw new Error("boom");
        }),
      ).toThrow("boom");
      expect(level(h.sqlite)).toBe(2);
      h.sqlite.exec("BEGIN");
      expect(() => commitDeferred(h, () => 1)).toThrow(/outside a transaction/);
      h.sqlite.exec("ROLLBACK");
      expect(level(h.sqlite)).toBe(2);
    } finally {
      h.close();
    }
  });
});
