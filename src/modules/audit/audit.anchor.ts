// What `audit verify` compares the log files with: the copy of every record committed to state.db,
// and where the file the writer last appended to began.
import { and, eq, gte, lte } from "drizzle-orm";
import type { DbHandle } from "../../db/client.ts";
import { AuditEventTable, AuditFileTable } from "./audit.sql.ts";

export function createVerifyAnchor(handle: DbHandle, head: () => { seq: number; hash: string }) {
  const { sqlite, db } = handle;
  return {
    /**
     * The first seq written to the file the log was last appended to, or null if that cannot be
     * told. The writer records that file's size after every append, in the same transaction as the
     * record, and the file holds exactly the committed lines written to it (replays after a
     * copytruncate are the contiguous run before the new ones); so walking back from the head until
     * those lines fill the recorded size finds where the file began. Records before it were written
     * to an earlier file (rotated away); records from it on were written to this one.
     */
    liveFileStart(): number | null {
      return sqlite.transaction(() => {
        const state = db.select().from(AuditFileTable).where(eq(AuditFileTable.id, 1)).get();
        const h = head();
        if (!state) return h.seq === 0 ? 1 : null;
        let bytes = 0;
        let first = h.seq + 1;
        for (const row of sqlite.query("SELECT seq, length(CAST(line AS BLOB)) AS n FROM audit_events ORDER BY seq DESC").iterate() as IterableIterator<{ seq: number; n: number }>) {
          if (bytes >= state.size) break;
          bytes += row.n + 1;
          first = row.seq;
        }
        return bytes === state.size ? first : null;
      })();
    },

    /** Committed records in a seq range, as written (to verify records rotated away). */
    committedLines(from: number, to: number): { seq: number; hash: string; line: string }[] {
      return db
        .select({ seq: AuditEventTable.seq, hash: AuditEventTable.hash, line: AuditEventTable.line })
        .from(AuditEventTable)
        .where(and(gte(AuditEventTable.seq, from), lte(AuditEventTable.seq, to)))
        .orderBy(AuditEventTable.seq)
        .all();
    },

    /** seq → hash for a range, to compare the files with what was committed. */
    hashesBetween(from: number, to: number): Map<number, string> {
      const rows = db
        .select({ seq: AuditEventTable.seq, hash: AuditEventTable.hash })
        .from(AuditEventTable)
        .where(and(gte(AuditEventTable.seq, from), lte(AuditEventTable.seq, to)))
        .all();
      return new Map(rows.map((r) => [r.seq, r.hash]));
    },
  };
}
