// A tenant's sessions: the index (agent_sessions rows) and the transcripts (JSONL files under
// tenants/<id>/sessions/). Every call takes the tenant's scope and reads only that tenant's rows, so
// another tenant's session is the same NOT_FOUND as one that does not exist. Caps: sessions per
// tenant and bytes per transcript (gateway config `agents`), each a clear error, never a silent drop.
import fs from "node:fs";
import path from "node:path";
import type { Database } from "bun:sqlite";
import type { GatewayConfig } from "../../config/schema.ts";
import type { Clock } from "../../core/clock.ts";
import { AppError } from "../../core/errors.ts";
import type { OpContext } from "../../edge/actor.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import { commitDeferred } from "../../db/deferred-sync.ts";
import { tenantDir } from "../../lib/tenant-dirs.ts";
import type { AuditLog } from "../audit/audit.service.ts";
import type { DiskGuard } from "../disk/disk.service.ts";
import type { EventsService } from "../events/events.service.ts";
import type { ToolSessions } from "./tools/tool.ts";
import { appendLine, createTranscriptReader, encodeEntry, newSessionId, readEntries, syncFile, transcriptPath, type TranscriptEntry } from "./transcript.ts";

export const SESSIONS_DIR = "sessions";
/**
 * Keys the gateway makes for a call that names no session (the OpenAI surface without
 * x-openclaw-session-key). At the tenant's session cap, the oldest idle one of these makes room for a
 * new one (deleted, audited, announced), so a client that never names sessions keeps working; a
 * session with any other key is never removed by the gateway.
 */
export const PER_CALL_PREFIX = "oai-";
export const SESSION_KEY = /^[a-z0-9:_-]{1,128}$/;
/** Room kept past the transcript cap for the entry that says why a run ended (it is never dropped). */
const CLOSING_ENTRY_ROOM = 4096;

export interface SessionRow {
  key: string;
  sessionId: string;
  agentId: string;
  createdAt: number;
  updatedAt: number;
  entries: number;
  bytes: number;
  inputTokens: number;
  outputTokens: number;
  costMicroUsd: number;
  runs: number;
}

const COLS = "key, session_id AS sessionId, agent_id AS agentId, created_at AS createdAt, updated_at AS updatedAt, entries, bytes, input_tokens AS inputTokens, output_tokens AS outputTokens, cost_micro_usd AS costMicroUsd, runs";

export function checkSessionKey(key: unknown): string {
  if (typeof key !== "string" || !SESSION_KEY.test(key)) throw new AppError("INVALID_PARAMS", "sessionKey must be 1-128 characters of a-z, 0-9, ':', '_' and '-'", { details: { param: "sessionKey" } });
  return key;
}

const notFound = () => new AppError("NOT_FOUND", "session not found");

export function createSessionsService(deps: { home: string; sqlite: Database; dbFile: string; clock: Clock; config: () => GatewayConfig; audit: AuditLog; events: EventsService; disk: Pick<DiskGuard, "admitWrite" | "recordWrite"> }) {
  const { sqlite, clock } = deps;
  const q = {
    get: sqlite.prepare(`SELECT ${COLS} FROM agent_sessions WHERE tenant_id = ?1 AND key = ?2`),
    count: sqlite.prepare("SELECT count(*) AS n FROM agent_sessions WHERE tenant_id = ?1"),
    insert: sqlite.prepare("INSERT INTO agent_sessions (tenant_id, key, session_id, agent_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)"),
    flush: sqlite.prepare(
      "UPDATE agent_sessions SET entries = entries + ?4, bytes = bytes + ?5, updated_at = max(updated_at, ?6), input_tokens = input_tokens + ?7, output_tokens = output_tokens + ?8, cost_micro_usd = cost_micro_usd + ?9 WHERE tenant_id = ?1 AND key = ?2 AND session_id = ?3",
    ),
    runStarted: sqlite.prepare("UPDATE agent_sessions SET runs = runs + 1, agent_id = ?3 WHERE tenant_id = ?1 AND key = ?2"),
    reset: sqlite.prepare("UPDATE agent_sessions SET session_id = ?3, entries = 0, bytes = 0, updated_at = ?4 WHERE tenant_id = ?1 AND key = ?2"),
    del: sqlite.prepare("DELETE FROM agent_sessions WHERE tenant_id = ?1 AND key = ?2"),
    /** A session's finished runs go with it (deleted or reset); a running one is ended first by the caller. */
    delRuns: sqlite.prepare("DELETE FROM agent_runs WHERE tenant_id = ?1 AND session_key = ?2 AND status != 'running'"),
    oldestPerCall: sqlite.prepare(
      `SELECT key FROM agent_sessions s WHERE tenant_id = ?1 AND key >= '${PER_CALL_PREFIX}' AND key < '${PER_CALL_PREFIX.slice(0, -1)}.' AND NOT EXISTS (SELECT 1 FROM agent_runs r WHERE r.tenant_id = s.tenant_id AND r.session_key = s.key AND r.status = 'running') ORDER BY updated_at, key LIMIT 1`,
    ),
    totals: sqlite.prepare("SELECT count(*) AS sessions, coalesce(sum(input_tokens), 0) AS inputTokens, coalesce(sum(output_tokens), 0) AS outputTokens, coalesce(sum(cost_micro_usd), 0) AS costMicroUsd, coalesce(sum(runs), 0) AS runs, coalesce(sum(bytes), 0) AS bytes FROM agent_sessions WHERE tenant_id = ?1"),
  };

  // What appends and usage added since the row was last written: kept in memory during a run and
  // written once when it ends (a commit per entry would cost a synchronous WAL write each), read
  // together with the row, so the caps see every byte. A crash loses only these counters; the
  // transcript is the truth, and recovery recounts it (recount).
  interface Delta { sessionId: string; entries: number; bytes: number; updatedAt: number; inputTokens: number; outputTokens: number; costMicroUsd: number }
  const deltas = new Map<string, Delta>();
  const dk = (tenantId: string, key: string) => `${tenantId}\u0000${key}`;
  function deltaFor(tenant: TenantScope, row: SessionRow): Delta {
    const k = dk(tenant.tenantId, row.key);
    let d = deltas.get(k);
    if (!d || d.sessionId !== row.sessionId) deltas.set(k, (d = { sessionId: row.sessionId, entries: 0, bytes: 0, updatedAt: 0, inputTokens: 0, outputTokens: 0, costMicroUsd: 0 }));
    return d;
  }
  function flush(tenantId: string, key: string): void {
    const k = dk(tenantId, key);
    const d = deltas.get(k);
    if (!d) return;
    deltas.delete(k);
    q.flush.run(tenantId, key, d.sessionId, d.entries, d.bytes, d.updatedAt, d.inputTokens, d.outputTokens, d.costMicroUsd);
  }

  const dirOf = (tenant: TenantScope) => path.join(tenantDir(deps.home, tenant.tenantId), SESSIONS_DIR);
  const fileOf = (tenant: TenantScope, sessionId: string) => transcriptPath(dirOf(tenant), sessionId);

  function find(tenant: TenantScope, key: string): SessionRow | null {
    const row = (q.get.get(tenant.tenantId, key) as SessionRow | null) ?? null;
    const d = row && deltas.get(dk(tenant.tenantId, key));
    if (!row || !d || d.sessionId !== row.sessionId) return row;
    return { ...row, entries: row.entries + d.entries, bytes: row.bytes + d.bytes, updatedAt: Math.max(row.updatedAt, d.updatedAt), inputTokens: row.inputTokens + d.inputTokens, outputTokens: row.outputTokens + d.outputTokens, costMicroUsd: row.costMicroUsd + d.costMicroUsd };
  }

  function get(tenant: TenantScope, key: string): SessionRow {
    return find(tenant, checkSessionKey(key)) ?? (() => {
      throw notFound();
    })();
  }

  /**
   * The change and its audit record commit together, or neither does (audit.transact). Sessions are
   * read from their rows, never cached: their changes leave the change tracker (and so the caches of
   * tenants, tokens and quota limits) alone.
   */
  function audited<T>(tenant: TenantScope, ctx: OpContext, action: string, key: string, details: Record<string, unknown>, change: () => T): T {
    return auditedDeferred(tenant, ctx, action, key, details, change, false).result;
  }
  function auditedDeferred<T>(tenant: TenantScope, ctx: OpContext, action: string, key: string, details: Record<string, unknown>, change: () => T, defer: boolean): { result: T; durable: Promise<void> } {
    return deps.audit.transact({ actor: ctx.actor, action, target: { type: "session", id: key }, tenant: tenant.tenantId, requestId: ctx.requestId, clientRequestId: ctx.clientRequestId, details }, change, { deferCommitSync: defer, invalidatesCaches: false });
  }

  function changed(tenant: TenantScope, row: { key: string; sessionId: string }, reason: "created" | "reset" | "deleted" | "updated") {
    deps.events.publish(tenant, { method: "sessions.changed", params: { sessionKey: row.key, sessionId: row.sessionId, reason }, sessionKey: row.key });
  }

  const transcripts = createTranscriptReader({ maxBytes: 32 * 1024 * 1024, maxFiles: 256 });

  function removeFile(tenant: TenantScope, sessionId: string) {
    const file = fileOf(tenant, sessionId);
    const size = fs.lstatSync(file, { throwIfNoEntry: false })?.size ?? 0;
    fs.rmSync(file, { force: true });
    transcripts.forget(file);
    deps.disk.recordWrite(tenant, -size, -1);
  }

  function page<T>(items: readonly T[], limit: number, cursor: string | undefined): { items: T[]; next: string | null } {
    const start = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isInteger(start) || start < 0) throw new AppError("INVALID_PARAMS", "cursor is not one this method returned", { details: { param: "cursor" } });
    const slice = items.slice(start, start + limit);
    return { items: slice, next: start + limit < items.length ? String(start + limit) : null };
  }

  const dbHandle = { sqlite, file: deps.dbFile };
  const SYNCED = Promise.resolve();
  function open(tenant: TenantScope, key: string, agentId: string, ctx: OpContext, alongside: ((row: SessionRow) => void) | undefined, defer: boolean): { row: SessionRow; durable: Promise<void> } {
    const existing = find(tenant, checkSessionKey(key));
    if (existing) {
      if (!alongside) return { row: existing, durable: SYNCED };
      const work = sqlite.transaction(() => alongside(existing));
      if (!defer) {
        work();
        return { row: existing, durable: SYNCED };
      }
      return { row: existing, durable: commitDeferred(dbHandle, work).durable };
    }
    const max = deps.config().agents.maxSessionsPerTenant;
    if (key.startsWith(PER_CALL_PREFIX) && (q.count.get(tenant.tenantId) as { n: number }).n >= max) {
      const oldest = q.oldestPerCall.get(tenant.tenantId) as { key: string } | null;
      if (oldest) service.delete(tenant, oldest.key, ctx, "room for a new per-call session (agents.maxSessionsPerTenant)");
    }
    const sessionId = newSessionId();
    fs.mkdirSync(dirOf(tenant), { recursive: true, mode: 0o700 });
    const { result: row, durable } = auditedDeferred(tenant, ctx, "sessions.create", key, { sessionId, agentId }, () => {
      const { n } = q.count.get(tenant.tenantId) as { n: number };
      if (n >= max) throw new AppError("QUOTA_EXCEEDED", `the tenant has ${n} sessions, the most it may hold (agents.maxSessionsPerTenant = ${max}); delete one first`);
      q.insert.run(tenant.tenantId, key, sessionId, agentId, clock.now());
      const made = find(tenant, key)!;
      alongside?.(made);
      return made;
    }, defer);
    changed(tenant, { key, sessionId }, "created");
    return { row, durable };
  }

  const service = {
    /** Bytes of transcript parsed so far (the reader parses each appended byte once). */
    transcriptBytesParsed: () => transcripts.stats.bytesParsed,
    transcriptsHeld: () => transcripts.held(),
    /** Drops what is kept in memory of the tenant's transcripts (its directory is gone). */
    forgetTenant: (tenant: TenantScope) => transcripts.forget(dirOf(tenant)),
    dirOf,
    fileOf,
    find,
    get,

    /**
     * The session under `key`, made (audited, announced) if the tenant has none and is under its cap.
     * `alongside` runs in the same transaction (a run's row: one commit for both).
     */
    ensure(tenant: TenantScope, key: string, agentId: string, ctx: OpContext, alongside?: (row: SessionRow) => void): SessionRow {
      return open(tenant, key, agentId, ctx, alongside, false).row;
    },

    /**
     * As `ensure`, for a caller that acknowledges later (a run answers after its model call): the
     * audit record is fsynced before the commit as always, but the commit's own sync runs off the
     * event loop; the caller awaits `durable` before it acknowledges anything.
     */
    ensureDeferred(tenant: TenantScope, key: string, agentId: string, ctx: OpContext, alongside: (row: SessionRow) => void): { row: SessionRow; durable: Promise<void> } {
      return open(tenant, key, agentId, ctx, alongside, true);
    },


    /**
     * Appends one entry to the session's current transcript. Past the transcript cap it is refused
     * (QUOTA_EXCEEDED), except a `closing` entry (why a run ended), which has a little room of its own.
     */
    append(tenant: TenantScope, row: SessionRow, entry: TranscriptEntry, opts: { closing?: boolean } = {}): void {
      const line = encodeEntry(entry);
      const max = deps.config().agents.maxTranscriptBytes;
      const current = find(tenant, row.key);
      if (!current || current.sessionId !== row.sessionId) throw new AppError("CONFLICT", "the session was reset or deleted while the run was writing to it");
      if (current.bytes + line.length > max + (opts.closing ? CLOSING_ENTRY_ROOM : 0)) {
        throw new AppError("QUOTA_EXCEEDED", `session "${row.key}" has reached its transcript cap of ${max} bytes (agents.maxTranscriptBytes); reset it to start a new transcript`);
      }
      if (!opts.closing) deps.disk.admitWrite(tenant, line.length, current.entries === 0 ? 1 : 0);
      // The directory is the gateway's, never a link (a restored archive could hold one).
      const dir = dirOf(tenant);
      if (!fs.lstatSync(dir, { throwIfNoEntry: false })?.isDirectory()) fs.mkdirSync(dir, { recursive: false, mode: 0o700 });
      appendLine(fileOf(tenant, row.sessionId), line);
      deps.disk.recordWrite(tenant, line.length, current.entries === 0 ? 1 : 0);
      const d = deltaFor(tenant, current);
      d.entries++;
      d.bytes += line.length;
      d.updatedAt = Math.max(d.updatedAt, entry.ts);
    },

    /** Writes the session's counters kept in memory (a run's end, a backup, close). */
    flush(tenant: TenantScope, key: string): void {
      flush(tenant.tenantId, key);
    },

    flushAll(tenantId?: string): void {
      for (const k of [...deltas.keys()]) {
        const [t, key] = k.split("\u0000") as [string, string];
        if (tenantId === undefined || t === tenantId) flush(t, key);
      }
    },

    /** After a crash: the counters of a session from its transcript on disk. */
    recount(tenantId: string, key: string): void {
      const tenant = { tenantId } as TenantScope;
      const row = q.get.get(tenantId, key) as SessionRow | null;
      if (!row) return;
      deltas.delete(dk(tenantId, key));
      const file = fileOf(tenant, row.sessionId);
      const size = fs.lstatSync(file, { throwIfNoEntry: false })?.size ?? 0;
      const entries = readEntries(file).length;
      sqlite.query("UPDATE agent_sessions SET entries = ?3, bytes = ?4 WHERE tenant_id = ?1 AND key = ?2").run(tenantId, key, entries, size);
    },

    /** Whether the transcript has room for another turn. */
    assertRoom(tenant: TenantScope, row: SessionRow): void {
      const max = deps.config().agents.maxTranscriptBytes;
      if (row.bytes >= max) throw new AppError("QUOTA_EXCEEDED", `session "${row.key}" has reached its transcript cap of ${max} bytes (agents.maxTranscriptBytes); reset it to start a new transcript`);
    },

    addUsage(tenant: TenantScope, key: string, u: { inputTokens: number; outputTokens: number; costMicroUsd: number }): void {
      const row = find(tenant, key);
      if (!row) return;
      const d = deltaFor(tenant, row);
      d.inputTokens += u.inputTokens;
      d.outputTokens += u.outputTokens;
      d.costMicroUsd += u.costMicroUsd;
    },

    runStarted(tenant: TenantScope, key: string, agentId: string): void {
      q.runStarted.run(tenant.tenantId, key, agentId);
    },

    sync(tenant: TenantScope, sessionId: string): Promise<void> {
      return syncFile(fileOf(tenant, sessionId));
    },

    entries(tenant: TenantScope, sessionId: string): readonly TranscriptEntry[] {
      return transcripts.read(fileOf(tenant, sessionId));
    },

    /** A new session id (and an empty transcript); the old transcript is removed. */
    reset(tenant: TenantScope, key: string, ctx: OpContext): SessionRow {
      flush(tenant.tenantId, checkSessionKey(key));
      const row = get(tenant, key);
      const sessionId = newSessionId();
      audited(tenant, ctx, "sessions.reset", row.key, { sessionId, previous: row.sessionId }, () => q.reset.run(tenant.tenantId, row.key, sessionId, clock.now()));
      removeFile(tenant, row.sessionId);
      changed(tenant, { key: row.key, sessionId }, "reset");
      return find(tenant, row.key)!;
    },

    delete(tenant: TenantScope, key: string, ctx: OpContext, reason?: string): { sessionKey: string; deleted: true } {
      const row = get(tenant, key);
      deltas.delete(dk(tenant.tenantId, row.key));
      audited(tenant, ctx, "sessions.delete", row.key, { sessionId: row.sessionId, ...(reason ? { reason } : {}) }, () => {
        q.del.run(tenant.tenantId, row.key);
        q.delRuns.run(tenant.tenantId, row.key);
      });
      removeFile(tenant, row.sessionId);
      changed(tenant, row, "deleted");
      return { sessionKey: row.key, deleted: true };
    },

    list(tenant: TenantScope, opts: { limit?: number; cursor?: string; agentId?: string; prefix?: string } = {}): { sessions: SessionRow[]; nextCursor: string | null } {
      const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
      const after = opts.cursor ?? "";
      if (opts.cursor !== undefined && !SESSION_KEY.test(opts.cursor)) throw new AppError("INVALID_PARAMS", "cursor is not one this method returned", { details: { param: "cursor" } });
      const where = ["tenant_id = ?1", "key > ?2"];
      const args: (string | number)[] = [tenant.tenantId, after];
      if (opts.agentId !== undefined) where.push(`agent_id = ?${args.push(opts.agentId)}`);
      if (opts.prefix !== undefined) where.push(`substr(key, 1, length(?${args.push(opts.prefix)})) = ?${args.length}`);
      service.flushAll(tenant.tenantId);
      const rows = sqlite.query(`SELECT ${COLS} FROM agent_sessions WHERE ${where.join(" AND ")} ORDER BY key LIMIT ${limit + 1}`).all(...args) as SessionRow[];
      const more = rows.length > limit;
      const sessions = rows.slice(0, limit);
      return { sessions, nextCursor: more ? sessions.at(-1)!.key : null };
    },

    /**
     * The tenant's sessions, most recently updated first, by offset (upstream OpenClaw's sessions.list
     * order), with how many there are in all; at most 500 a page.
     */
    recent(tenant: TenantScope, opts: { limit?: number; offset?: number; agentId?: string } = {}): { sessions: SessionRow[]; total: number } {
      const limit = Number.isInteger(opts.limit) ? Math.min(Math.max(opts.limit!, 1), 500) : 50;
      const offset = Number.isInteger(opts.offset) ? Math.max(opts.offset!, 0) : 0;
      service.flushAll(tenant.tenantId);
      const where = opts.agentId === undefined ? "tenant_id = ?1" : "tenant_id = ?1 AND agent_id = ?2";
      const args: string[] = opts.agentId === undefined ? [tenant.tenantId] : [tenant.tenantId, opts.agentId];
      const rows = sqlite.query(`SELECT ${COLS} FROM agent_sessions WHERE ${where} ORDER BY updated_at DESC, key LIMIT ${limit} OFFSET ${offset}`).all(...args) as SessionRow[];
      const { n } = sqlite.query(`SELECT count(*) AS n FROM agent_sessions WHERE ${where}`).get(...args) as { n: number };
      return { sessions: rows, total: n };
    },

    history(tenant: TenantScope, key: string, opts: { limit?: number; cursor?: string } = {}): { sessionId: string; entries: TranscriptEntry[]; nextCursor: string | null } {
      const row = get(tenant, key);
      const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1000);
      const { items, next } = page(transcripts.read(fileOf(tenant, row.sessionId)), limit, opts.cursor);
      return { sessionId: row.sessionId, entries: items, nextCursor: next };
    },

    usage(tenant: TenantScope, key?: string) {
      if (key === undefined) service.flushAll(tenant.tenantId);
      if (key !== undefined) {
        const r = get(tenant, key);
        return { sessionKey: r.key, runs: r.runs, inputTokens: r.inputTokens, outputTokens: r.outputTokens, costMicroUsd: r.costMicroUsd, bytes: r.bytes };
      }
      return q.totals.get(tenant.tenantId) as { sessions: number; inputTokens: number; outputTokens: number; costMicroUsd: number; runs: number; bytes: number };
    },
  };

  /** The read-only view the `sessions_list` and `session_history` tools use. */
  const forTools: ToolSessions = {
    list(tenant, opts) {
      const { sessions, nextCursor } = service.list(tenant, opts);
      return { sessions: sessions.map((s) => ({ key: s.key, sessionId: s.sessionId, agentId: s.agentId, createdAt: s.createdAt, updatedAt: s.updatedAt, entries: s.entries })), nextCursor };
    },
    history(tenant, key, opts) {
      const { entries, nextCursor } = service.history(tenant, key, opts);
      return { entries, nextCursor };
    },
  };

  return { ...service, forTools };
}

export type SessionsService = ReturnType<typeof createSessionsService>;
