// Stored responses: a tenant's rows in stored_responses, every read and write keyed by the tenant the
// edge authenticated (another tenant's id is simply not found). A row past its retention deadline is
// never read and is swept on the tenant's next write and by the gateway's periodic sweep. Caps on the
// count and the bytes a tenant keeps are checked before a request that asks to store runs, against
// counters kept in memory (loaded from the table on first use; every write here returns what it
// changed; dropped when state.db may have changed elsewhere — a restore or delete by the CLI — and
// when a tenant's rows are restored or deleted in this process).
// Writes are applied by a worker thread (responses.writer.ts) and read from memory until they are: see
// README "Stored responses".
import type { Clock } from "../../core/clock.ts";
import type { ChangeTracker } from "../../db/change-tracker.ts";
import type { DbHandle } from "../../db/client.ts";
import { AppError } from "../../core/errors.ts";
import type { Json } from "../providers/provider.ts";
import type { PendingRow, ResponsesWriter } from "./responses.writer.ts";

export interface StoreSettings {
  retentionDays: number;
  maxStoredPerTenant: number;
  maxStoredBytesPerTenant: number;
  maxChainDepth: number;
}

export interface StoredResponse {
  id: string;
  bytes: number;
  previousId: string | null;
  createdAt: number;
  response: Json;
  inputItems: Json[];
}

const DAY_MS = 86_400_000;

/** Room a request that asks to store holds from its check until its response is stored or it ends. */
export interface StoreHold {
  tenantId: string;
  bytes: number;
  done: boolean;
}

export function createResponsesStore(deps: { handle: Pick<DbHandle, "sqlite" | "file">; clock: Clock; changes: ChangeTracker; writer: ResponsesWriter; settings: () => StoreSettings }) {
  const { clock } = deps;
  const sqlite = deps.handle.sqlite;
  const q = {
    get: sqlite.prepare("SELECT id, previous_id AS previousId, created_at AS createdAt, bytes, response, input_items AS inputItems FROM stored_responses WHERE tenant_id = ?1 AND id = ?2 AND expires_at > ?3"),
    usage: sqlite.prepare("SELECT count(*) AS n, coalesce(sum(bytes), 0) AS bytes FROM stored_responses WHERE tenant_id = ?1"),
    expired: sqlite.prepare("SELECT count(*) AS n, coalesce(sum(bytes), 0) AS bytes FROM stored_responses WHERE tenant_id = ?1 AND expires_at <= ?2"),
  };

  type Row = { id: string; previousId: string | null; createdAt: number; bytes: number; response: string; inputItems: string };
  const fromPending = (p: PendingRow): Row => ({ id: p.id, previousId: p.previousId, createdAt: p.createdAt, bytes: p.bytes, response: p.response, inputItems: p.items });
  const decode = (r: Row): StoredResponse => ({ id: r.id, bytes: r.bytes, previousId: r.previousId, createdAt: r.createdAt, response: JSON.parse(r.response) as Json, inputItems: JSON.parse(r.inputItems) as Json[] });

  /**
   * Rows and bytes held by requests in flight that asked to store (one row and their input bytes
   * each): counted against the caps beside what is kept, so requests admitted together cannot all pass
   * the same check. Not cleared with `kept` (a recount reads only the table).
   */
  const held = new Map<string, { n: number; bytes: number }>();
  function release(h: StoreHold): void {
    if (h.done) return;
    h.done = true;
    const x = held.get(h.tenantId);
    if (!x) return;
    x.n--;
    x.bytes -= h.bytes;
    if (x.n <= 0) held.delete(h.tenantId);
  }
  /** Rows and bytes each tenant keeps (expired rows count until they are swept). */
  const kept = new Map<string, { n: number; bytes: number }>();
  let keptAt = deps.changes.version();
  function usageOf(tenantId: string): { n: number; bytes: number } {
    const v = deps.changes.version();
    if (v !== keptAt) {
      kept.clear();
      keptAt = v;
    }
    let u = kept.get(tenantId);
    if (!u) {
      u = { ...(q.usage.get(tenantId) as { n: number; bytes: number }) };
      kept.set(tenantId, u);
    }
    return u;
  }
  /** The table's rows, with the writes the worker has not applied yet read from memory. */
  function row(tenantId: string, id: string, now: number): Row | null {
    const p = deps.writer.pending(tenantId, id);
    if (p === "deleted") return null;
    if (p) return p.expiresAt > now ? fromPending(p) : null;
    return q.get.get(tenantId, id, now) as Row | null;
  }

  return {
    /** Whether responses are stored at all (a retention of 0 turns storing off). */
    enabled(): boolean {
      return deps.settings().retentionDays > 0;
    },

    get(tenantId: string, id: string): StoredResponse | null {
      const r = row(tenantId, id, clock.now());
      return r ? decode(r) : null;
    },

    /**
     * The responses a previous_response_id reaches, oldest first. A link that is gone (deleted,
     * expired, another tenant's) answers not found: the conversation cannot be rebuilt. A
     * conversation larger than `maxBytes` (what a client may send in one body) is refused: chaining
     * must not build a request no client could send.
     */
    chain(tenantId: string, id: string, maxBytes: number): StoredResponse[] {
      const max = deps.settings().maxChainDepth;
      const out: StoredResponse[] = [];
      let bytes = 0;
      let next: string | null = id;
      while (next !== null) {
        if (out.length >= max) throw new AppError("INVALID_PARAMS", `previous_response_id: the conversation reaches back more than ${max} responses (responses.maxChainDepth); start a new one`, { details: { param: "previous_response_id" } });
        const r = this.get(tenantId, next);
        if (!r) throw notFound(next, "previous_response_id");
        bytes += r.bytes;
        if (bytes > maxBytes) throw new AppError("PAYLOAD_TOO_LARGE", `previous_response_id: the conversation is larger than ${maxBytes} bytes (gateway.limits.chatBodyBytes); start a new one`, { details: { param: "previous_response_id" } });
        out.push(r);
        next = r.previousId;
      }
      return out.reverse();
    },

    /**
     * Refuses, before anything runs, a request whose stored result would not fit the tenant's caps
     * (what it keeps and what requests in flight hold); else holds its room until `put` or `release`.
     */
    checkRoom(tenantId: string, incomingBytes: number): StoreHold {
      const s = deps.settings();
      const h = held.get(tenantId) ?? { n: 0, bytes: 0 };
      const fits = (u: { n: number; bytes: number }) => u.n + h.n < s.maxStoredPerTenant && u.bytes + h.bytes + incomingBytes <= s.maxStoredBytesPerTenant;
      const hold = (): StoreHold => {
        held.set(tenantId, { n: h.n + 1, bytes: h.bytes + incomingBytes });
        return { tenantId, bytes: incomingBytes, done: false };
      };
      const u = usageOf(tenantId);
      if (fits(u)) return hold();
      // Expired rows count until they are swept: they are not held against the tenant. (At the cap
      // only: queued writes are applied first, so the table holds every row the counters count.)
      deps.writer.flush();
      const e = q.expired.get(tenantId, clock.now()) as { n: number; bytes: number };
      const live = { n: u.n - e.n, bytes: u.bytes - e.bytes };
      if (live.n + h.n >= s.maxStoredPerTenant) throw capError(`stored responses: the tenant keeps ${live.n} and has ${h.n} more in flight, the most allowed (responses.maxStoredPerTenant); delete some, or send store: false`);
      if (!fits(live)) throw capError(`stored responses: ${live.bytes + h.bytes} bytes kept or in flight, and this request's ${incomingBytes} would pass the ${s.maxStoredBytesPerTenant} allowed (responses.maxStoredBytesPerTenant); delete some, or send store: false`);
      if (e.n > 0) deps.writer.sweep(clock.now());
      return hold();
    },

    /** The request that held room stores nothing (it failed, was cut, or its tenant stopped). */
    release,

    /** Stores a response for the tenant's incarnation `incarnation` (nothing is stored if that incarnation has gone). */
    put(tenantId: string, incarnation: string, r: { id: string; previousId: string | null; createdAt: number; response: Json; inputItems: Json[] }, hold?: StoreHold): void {
      if (hold) release(hold);
      const response = JSON.stringify(r.response);
      const items = JSON.stringify(r.inputItems);
      const bytes = Buffer.byteLength(response) + Buffer.byteLength(items);
      const u = usageOf(tenantId);
      deps.writer.put({ tenantId, incarnation, id: r.id, previousId: r.previousId, createdAt: r.createdAt, expiresAt: clock.now() + deps.settings().retentionDays * DAY_MS, bytes, response, items });
      u.n++;
      u.bytes += bytes;
    },

    /** True if the tenant had it. */
    delete(tenantId: string, id: string): boolean {
      const r = row(tenantId, id, clock.now());
      if (!r) return false;
      deps.writer.delete(tenantId, id);
      const u = kept.get(tenantId);
      if (u) {
        u.n--;
        u.bytes -= r.bytes;
      }
      return true;
    },

    /** Deletes every expired row (the gateway's periodic sweep; the counters are read again after it). */
    sweep(): void {
      deps.writer.sweep(clock.now());
    },

    /** Counters are read again (rows were swept, restored or deleted). */
    recount(): void {
      kept.clear();
    },

    /** The tenant's rows were replaced or deleted elsewhere (a restore, a delete): count them again when next needed. */
    forget(tenantId: string): void {
      deps.writer.forget(tenantId);
      kept.delete(tenantId);
    },
  };
}

export function notFound(id: string, param = "response_id"): AppError {
  return new AppError("NOT_FOUND", `Response with id '${id.slice(0, 100)}' not found.`, { details: { param } });
}

function capError(message: string): AppError {
  // Not retried by the SDKs: it does not clear by waiting a few seconds.
  return new AppError("QUOTA_EXCEEDED", message, { details: { param: "store" }, headers: { "x-should-retry": "false" } });
}

export type ResponsesStore = ReturnType<typeof createResponsesStore>;
