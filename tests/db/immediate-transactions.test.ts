// state.db's transactions begin IMMEDIATE: a transaction that reads and then writes is not failed by
// another connection (a worker, the CLI) committing in between — that connection waits its turn.
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDatabase } from "../../src/db/client.ts";

describe("state.db transactions", () => {
  test("another connection's commit between a transaction's read and its write does not fail it", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "immediate-tx-"));
    const h = openDatabase(path.join(dir, "state.db"));
    const other = new Database(h.file);
    other.exec("PRAGMA busy_timeout = 0");
    try {
      h.sqlite.exec("CREATE TABLE probe (x INTEGER)");
      let otherGotIn = false;
      h.sqlite.transaction(() => {
        h.sqlite.query("SELECT count(*) FROM probe").get(); // the snapshot begins
        try {
          other.exec("INSERT INTO probe VALUES (2)");
          otherGotIn = true;
        } catch {
          // the transaction holds the write lock: the other writer must wait (here: gives up at once)
        }
        h.sqlite.query("INSERT INTO probe VALUES (1)").run(); // a deferred transaction fails here: SQLITE_BUSY
      })();
      expect(otherGotIn).toBe(false);
      expect((h.sqlite.query("SELECT count(*) AS n FROM probe").get() as { n: number }).n).toBe(1);
      // Nested: a savepoint inside the outer transaction, as before.
      h.sqlite.transaction(() => {
        h.sqlite.transaction(() => h.sqlite.query("INSERT INTO probe VALUES (3)").run())();
      })();
      expect((h.sqlite.query("SELECT count(*) AS n FROM probe").get() as { n: number }).n).toBe(2);
    } finally {
      other.close();
      h.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
