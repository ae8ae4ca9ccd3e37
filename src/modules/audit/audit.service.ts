// The audit log writer. Every state change runs inside `transact`: the change is made in an
// IMMEDIATE SQLite transaction, its record is appended to the JSONL file and fdatasync'ed, and only
// then is the transaction committed. If the append fails, the change is rolled back and refused.
// The SQLite write lock also serialises writers across processes (gateway and CLI), so the hash
// chain has one order. The file is opened for each append, so logrotate's move-and-create works
// without a reopen; a copytruncate is detected and the lines it may have lost are written again.
import fs from "node:fs";
import path from "node:path";
import { and, desc, eq, gte, lte, lt } from "drizzle-orm";
import type { DbHandle } from "../../db/client.ts";
import type { Clock } from "../../core/clock.ts";
import { AppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import { commitDeferred } from "../../db/deferred-sync.ts";
import { fsyncDir } from "../../lib/fs-durable.ts";
import { AuditEventTable, AuditFileTable } from "./audit.sql.ts";
import { buildRecord, computeHash, GENESIS_HASH, recordLine, type AuditInput, type AuditRecord } from "./audit.record.ts";
import { createVerifyAnchor } from "./audit.anchor.ts";

export interface AuditDeps {
  handle: DbHandle;
  file: string;
  clock: Clock;
  log: Logger;
  /** After a copytruncate, records newer than (truncation time − this) are written again. */
  replayWindowMs: number;
  /** Called after each committed change, so caches (this process's and others') notice it. */
  onCommit?: () => void;
  /** Called after every record is durably written (metrics). */
  onRecord?: () => void;
}

export interface AuditQuery {
  tenant?: string;
  action?: string;
  actorKind?: string;
  outcome?: string;
  since?: number;
  until?: number;
  beforeSeq?: number;
  limit?: number;
}

const MAX_REPLAY = 10_000;
const SYNCED = Promise.resolve();

export function createAuditLog(deps: AuditDeps) {
  const { handle, clock, log } = deps;
  const { sqlite, db } = handle;
  const file = deps.file;

  const headQuery = db.select({ seq: AuditEventTable.seq, hash: AuditEventTable.hash }).from(AuditEventTable).orderBy(desc(AuditEventTable.seq)).limit(1).prepare();

  function head(): { seq: number; hash: string } {
    return headQuery.get() ?? { seq: 0, hash: GENESIS_HASH };
  }

  // The statements every append runs, prepared once (building them through drizzle on each append
  // cost more CPU than the rest of the append but its fdatasync).
  const stmt = {
    insertEvent: sqlite.prepare(
      "INSERT INTO audit_events (seq, ts, hash, action, actor_kind, actor_id, tenant_id, target_type, target_id, outcome, request_id, line) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    ),
    fileState: sqlite.prepare("SELECT path, dev, ino, size FROM audit_file WHERE id = 1"),
    saveFileState: sqlite.prepare(
      "INSERT INTO audit_file (id, path, dev, ino, size, updated_at) VALUES (1, ?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET path = excluded.path, dev = excluded.dev, ino = excluded.ino, size = excluded.size, updated_at = excluded.updated_at",
    ),
  };

  function insertRow(record: AuditRecord, line: string): void {
    stmt.insertEvent.run(record.seq, Date.parse(record.ts), record.hash, record.action, record.actor.kind, record.actor.id, record.tenant ?? null, record.target?.type ?? null, record.target?.id ?? null, record.outcome, record.requestId, line);
  }

  /**
   * Lines past the size we recorded, on the same file, are records some writer appended and then
   * failed to commit (a crash between fsync and COMMIT). They chain from our head, so adopt them,
   * and say so in the log, rather than fork the chain.
   */
  function adoptDangling(fd: number, from: number, to: number): { adopted: number[]; lines: string[] } {
    const buf = Buffer.alloc(to - from);
    fs.readSync(fd, buf, 0, buf.length, from);
    const adopted: number[] = [];
    const lines: string[] = [];
    let h = head();
    for (const line of buf.toString("utf8").split("\n")) {
      if (!line) continue;
      let rec: AuditRecord;
      try {
        rec = JSON.parse(line) as AuditRecord;
      } catch {
        break;
      }
      const { hash, ...body } = rec;
      if (rec.seq !== h.seq + 1 || rec.prev !== h.hash || computeHash(body) !== hash) break;
      insertRow(rec, line);
      adopted.push(rec.seq);
      lines.push(line);
      h = { seq: rec.seq, hash: rec.hash };
    }
    if (adopted.length === 0) log.warn("audit log has bytes we did not write after the last known record; appending after them", { file });
    return { adopted, lines };
  }

  function replayLinesSince(ts: number): string[] {
    const first = db.select({ seq: AuditEventTable.seq }).from(AuditEventTable).where(gte(AuditEventTable.ts, ts)).orderBy(AuditEventTable.seq).limit(1).get();
    if (!first) return [];
    return db
      .select({ line: AuditEventTable.line })
      .from(AuditEventTable)
      .where(gte(AuditEventTable.seq, first.seq))
      .orderBy(AuditEventTable.seq)
      .limit(MAX_REPLAY)
      .all()
      .map((r) => r.line);
  }

  /** Appends one record. Must run inside an open IMMEDIATE transaction. */
  function append(input: AuditInput): AuditRecord {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
    } catch (err) {
      throw auditUnavailable(err);
    }
    try {
      const st = fs.fstatSync(fd);
      const state = stmt.fileState.get() as { path: string; dev: number; ino: number; size: number } | null;
      const sameFile = !!state && state.path === file && state.dev === st.dev && state.ino === st.ino;
      let prefix = "";
      if (sameFile && st.size < state.size) {
        // copytruncate: lines appended between the copy and the truncate exist in neither file.
        const lines = replayLinesSince(st.mtimeMs - deps.replayWindowMs);
        if (lines.length > 0) prefix = `${lines.join("\n")}\n`;
        log.info("audit log was truncated (copytruncate); replaying recent records", { file, replayed: lines.length });
      } else if (sameFile && st.size > state.size) {
        const { adopted } = adoptDangling(fd, state.size, st.size);
        if (adopted.length > 0) {
          const note = buildRecord(
            {
              actor: { kind: "system", id: "gateway" },
              action: "audit.uncommitted",
              outcome: "error",
              requestId: input.requestId,
              details: { seqs: adopted, note: "records written to the log whose change was not committed" },
            },
            head().seq + 1,
            clock.now(),
            head().hash,
          );
          const noteLine = recordLine(note);
          insertRow(note, noteLine);
          prefix = `${noteLine}\n`;
        }
      }
      const h = head();
      const record = buildRecord(input, h.seq + 1, clock.now(), h.hash);
      const line = recordLine(record);
      writeAll(fd, Buffer.from(`${prefix}${line}\n`));
      fs.fdatasyncSync(fd);
      if (!sameFile) fsyncDir(path.dirname(file));
      const after = fs.fstatSync(fd);
      stmt.saveFileState.run(file, after.dev, after.ino, after.size, clock.now());
      insertRow(record, line);
      return record;
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw auditUnavailable(err);
    } finally {
      fs.closeSync(fd);
    }
  }

  function auditUnavailable(err: unknown): AppError {
    const code = (err as NodeJS.ErrnoException)?.code ?? "error";
    log.error("audit log write failed; refusing the change", { file, code });
    return new AppError("AUDIT_UNAVAILABLE", "the audit log cannot be written, so the change was refused", { cause: err, context: { file, code } });
  }

  function begin(): void {
    if (sqlite.inTransaction) throw new Error("audit.transact does not nest");
    sqlite.exec("BEGIN IMMEDIATE");
  }

  function transactNow<T>(input: AuditInput | ((result: T) => AuditInput), mutate: (onRollback: (undo: () => void) => void) => T, invalidatesCaches: boolean): { result: T; record: AuditRecord } {
    const undo: (() => void)[] = [];
    begin();
    try {
      const result = mutate((fn) => undo.push(fn));
      const record = append(typeof input === "function" ? input(result) : input);
      sqlite.exec("COMMIT");
      if (invalidatesCaches) deps.onCommit?.();
      deps.onRecord?.();
      return { result, record };
    } catch (err) {
      if (sqlite.inTransaction) sqlite.exec("ROLLBACK");
      for (const fn of undo.reverse()) {
        try {
          fn();
        } catch (undoErr) {
          log.error("could not undo a side effect of a refused change", { error: String(undoErr) });
        }
      }
      throw err;
    }
  }

  return {
    file,

    /**
     * Runs `mutate` and records `input`, atomically: both or neither. `onRollback` registers
     * compensations for side effects outside the database (files, directories). The record is
     * fdatasync'ed before the commit, always. With `deferCommitSync`, the commit itself does not wait
     * for the disk on the event loop: `durable` settles once the WAL is synced, and the caller must
     * await it before it acknowledges the change (a power loss before that leaves the record in the
     * log and the change undone: the case `adoptDangling` already handles). `invalidatesCaches: false`
     * is for changes to rows no cache holds (an agent session): the change tracker is not bumped, so
     * the caches of tenants, tokens and quota limits are not all thrown away at every new session.
     */
    transact<T>(
      input: AuditInput | ((result: T) => AuditInput),
      mutate: (onRollback: (undo: () => void) => void) => T,
      opts: { deferCommitSync?: boolean; invalidatesCaches?: boolean } = {},
    ): { result: T; record: AuditRecord; durable: Promise<void> } {
      const invalidates = opts.invalidatesCaches !== false;
      if (!opts.deferCommitSync) return { ...transactNow(input, mutate, invalidates), durable: SYNCED };
      const { result, durable } = commitDeferred(handle, () => transactNow(input, mutate, invalidates));
      return { ...result, durable };
    },

    /** Records an event that changes nothing else (a denied attempt, a throttle trip). */
    record(input: AuditInput): AuditRecord {
      begin();
      try {
        const record = append(input);
        sqlite.exec("COMMIT");
        deps.onRecord?.();
        return record;
      } catch (err) {
        if (sqlite.inTransaction) sqlite.exec("ROLLBACK");
        throw err;
      }
    },

    head,

    /** Adopts records a crashed writer left uncommitted, so the file and the database agree again. */
    recover(): void {
      if (!fs.existsSync(file)) return;
      const state = db.select().from(AuditFileTable).where(eq(AuditFileTable.id, 1)).get();
      const st = fs.statSync(file);
      if (state && state.dev === st.dev && state.ino === st.ino && st.size > state.size) {
        this.record({ actor: { kind: "system", id: "gateway" }, action: "audit.recover", requestId: "startup" });
      }
    },

    query(q: AuditQuery): AuditRecord[] {
      const conds = [
        q.tenant ? eq(AuditEventTable.tenantId, q.tenant) : undefined,
        q.action ? eq(AuditEventTable.action, q.action) : undefined,
        q.actorKind ? eq(AuditEventTable.actorKind, q.actorKind) : undefined,
        q.outcome ? eq(AuditEventTable.outcome, q.outcome) : undefined,
        q.since !== undefined ? gte(AuditEventTable.ts, q.since) : undefined,
        q.until !== undefined ? lte(AuditEventTable.ts, q.until) : undefined,
        q.beforeSeq !== undefined ? lt(AuditEventTable.seq, q.beforeSeq) : undefined,
      ].filter((c) => c !== undefined);
      return db
        .select({ line: AuditEventTable.line })
        .from(AuditEventTable)
        .where(conds.length ? and(...conds) : undefined)
        .orderBy(desc(AuditEventTable.seq))
        .limit(Math.min(Math.max(q.limit ?? 100, 1), 1000))
        .all()
        .map((r) => JSON.parse(r.line) as AuditRecord);
    },

    ...createVerifyAnchor(handle, head),
  };
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
}

export type AuditLog = ReturnType<typeof createAuditLog>;
