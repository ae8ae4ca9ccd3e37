// Stored responses: a tenant's rows in stored_responses, every read and write keyed by the tenant the
// edge authenticated (another tenant's id is simply not found). A row past its retention deadline is
// never read and is swept on the tenant's next write and by the gateway's periodic sweep. Caps on the
// count and the bytes a tenant keeps are checked before a request that asks to store runs.
import type { Database } from "bun:sqlite";
import type { Clock } from "../../core/clock.ts";
import { AppError } from "../../core/errors.ts";
import type { Json } from "../providers/provider.ts";

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

export function createResponsesStore(deps: { sqlite: Database; clock: Clock; settings: () => StoreSettings }) {
  const { sqlite, clock } = deps;
  const q = {
    get: sqlite.prepare("SELECT id, previous_id AS previousId, created_at AS createdAt, bytes, response, input_items AS inputItems FROM stored_responses WHERE tenant_id = ?1 AND id = ?2 AND expires_at > ?3"),
    usage: sqlite.prepare("SELECT count(*) AS n, coalesce(sum(bytes), 0) AS bytes FROM stored_responses WHERE tenant_id = ?1 AND expires_at > ?2"),
    insert: sqlite.prepare("INSERT INTO stored_responses (tenant_id, id, previous_id, created_at, expires_at, bytes, response, input_items) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
    del: sqlite.prepare("DELETE FROM stored_responses WHERE tenant_id = ?1 AND id = ?2 AND expires_at > ?3"),
    sweepTenant: sqlite.prepare("DELETE FROM stored_responses WHERE tenant_id = ?1 AND expires_at <= ?2"),
    sweepAll: sqlite.prepare("DELETE FROM stored_responses WHERE expires_at <= ?1"),
  };

  type Row = { id: string; previousId: string | null; createdAt: number; bytes: number; response: string; inputItems: string };
  const decode = (r: Row): StoredResponse => ({ id: r.id, bytes: r.bytes, previousId: r.previousId, createdAt: r.createdAt, response: JSON.parse(r.response) as Json, inputItems: JSON.parse(r.inputItems) as Json[] });

  return {
    /** Whether responses are stored at all (a retention of 0 turns storing off). */
    enabled(): boolean {
      return deps.settings().retentionDays > 0;
    },

    get(tenantId: string, id: string): StoredResponse | null {
      const row = q.get.get(tenantId, id, clock.now()) as Row | null;
      return row ? decode(row) : null;
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

    /** Refuses, before anything runs, a request whose stored result would not fit the tenant's caps. */
    checkRoom(tenantId: string, incomingBytes: number): void {
      const s = deps.settings();
      const u = q.usage.get(tenantId, clock.now()) as { n: number; bytes: number };
      if (u.n >= s.maxStoredPerTenant) throw capError(`stored responses: the tenant keeps ${u.n}, the most allowed (responses.maxStoredPerTenant); delete some, or send store: false`);
      if (u.bytes + incomingBytes > s.maxStoredBytesPerTenant) throw capError(`stored responses: ${u.bytes} bytes kept, and this request's ${incomingBytes} would pass the ${s.maxStoredBytesPerTenant} allowed (responses.maxStoredBytesPerTenant); delete some, or send store: false`);
    },

    put(tenantId: string, r: { id: string; previousId: string | null; createdAt: number; response: Json; inputItems: Json[] }): void {
      const now = clock.now();
      const response = JSON.stringify(r.response);
      const items = JSON.stringify(r.inputItems);
      const bytes = Buffer.byteLength(response) + Buffer.byteLength(items);
      q.sweepTenant.run(tenantId, now);
      q.insert.run(tenantId, r.id, r.previousId, r.createdAt, now + deps.settings().retentionDays * DAY_MS, bytes, response, items);
    },

    /** True if the tenant had it. */
    delete(tenantId: string, id: string): boolean {
      return q.del.run(tenantId, id, clock.now()).changes > 0;
    },

    /** Deletes every expired row (the gateway's periodic sweep). */
    sweep(): number {
      return q.sweepAll.run(clock.now()).changes;
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
