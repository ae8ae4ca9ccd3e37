// Shape, canonical bytes and hash of one audit record. Shared by the writer and the verifier.
import type { Actor, OpContext } from "../../edge/actor.ts";
import { canonicalJson } from "../../lib/canonical-json.ts";
import { TOKEN_REGEX } from "../../lib/token-format.ts";

export const GENESIS_HASH = "0".repeat(64);


export type Outcome = "ok" | "denied" | "error";

export interface AuditInput {
  actor: Actor;
  action: string;
  target?: { type: string; id: string };
  /** The tenant the record concerns (for per-tenant queries). */
  tenant?: string;
  outcome?: Outcome;
  /** The gateway's own id of the request (or CLI invocation); never a client's. */
  requestId: string;
  /** A client's own x-request-id, kept for correlation only (see lib/ids.ts). */
  clientRequestId?: string;
  src?: { ip?: string };
  details?: Record<string, unknown>;
}

/** The record of a change made for a request or CLI call (`ctx`): who, what, on what, for whom, from where. */
export function opAudit(ctx: OpContext, action: string, target: { type: string; id: string }, tenant: string, details?: Record<string, unknown>): AuditInput {
  return { actor: ctx.actor, action, target, tenant, requestId: ctx.requestId, clientRequestId: ctx.clientRequestId, src: { ip: ctx.ip }, details };
}

export interface AuditRecord {
  v: 1;
  seq: number;
  ts: string;
  actor: Actor;
  action: string;
  target?: { type: string; id: string };
  tenant?: string;
  outcome: Outcome;
  requestId: string;
  clientRequestId?: string;
  src?: { ip?: string };
  details?: Record<string, unknown>;
  prev: string;
  hash: string;
}

export function sha256Hex(text: string): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

export function computeHash(record: Omit<AuditRecord, "hash">): string {
  return sha256Hex(canonicalJson(record));
}

const TOKEN_ANYWHERE = new RegExp(TOKEN_REGEX.source, "g");

/**
 * Some strings in a record come from callers (a request path, a display name). Anything shaped like a
 * token is replaced, so a secret never reaches the log — and a caller cannot suppress its own denied
 * record by putting a token-shaped string in it.
 */
function scrub<T>(value: T): T {
  if (typeof value === "string") return value.replace(TOKEN_ANYWHERE, "[redacted]") as T;
  if (Array.isArray(value)) return value.map(scrub) as T;
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v)])) as T;
  return value;
}

export function buildRecord(rawInput: AuditInput, seq: number, ts: number, prev: string): AuditRecord {
  const input = scrub(rawInput);
  const body: Omit<AuditRecord, "hash"> = {
    v: 1,
    seq,
    ts: new Date(ts).toISOString(),
    actor: input.actor,
    action: input.action,
    target: input.target,
    tenant: input.tenant,
    outcome: input.outcome ?? "ok",
    requestId: input.requestId,
    clientRequestId: input.clientRequestId,
    src: input.src?.ip ? { ip: input.src.ip } : undefined,
    details: input.details,
    prev,
  };
  return { ...body, hash: computeHash(body) };
}

/** One line of the log: canonical JSON of the record, hash included. */
export function recordLine(record: AuditRecord): string {
  const line = canonicalJson(record);
  // buildRecord scrubs; this is the last line of defence against a record built some other way.
  if (TOKEN_REGEX.test(line)) throw new Error("refusing to write an audit record that contains a token");
  return line;
}
