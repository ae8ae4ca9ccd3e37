// JSON-RPC 2.0 dispatch: single calls and batches, notifications, and the spec's error codes
// (-32700 parse error, -32600 invalid request, -32601 method not found, -32602 invalid params).
// Application errors carry the gateway's error code in data.code. What one request may cost is
// bounded here: its nesting depth (checked before parsing), the bytes of results it returns (a
// batch counted together), and its tenant's rate of audited changes; and its identity is checked
// again before every item, so a batch never outlives the tenant or token it was admitted as.
import { describeError } from "../config/schema-errors.ts";
import { formatKeyPath, pointerToParts } from "../config/key-path.ts";
import { AppError, toAppError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { RpcContext } from "../edge/rpc.ts";
import { IdentityEnded } from "../edge/tenant-scope.ts";
import { depthMessage, findReservedKey, jsonDepthExcess, RESERVED_KEY_MESSAGE } from "../lib/json-safe.ts";
import type { RpcRegistry } from "./rpc-registry.ts";

type Id = string | number | null;

interface RpcError {
  code: number;
  message: string;
  data?: Record<string, unknown>;
}

type RpcResponse = { jsonrpc: "2.0"; id: Id } & ({ result: unknown } | { error: RpcError });

export const MAX_BATCH = 100;

const errorResponse = (id: Id, error: RpcError): RpcResponse => ({ jsonrpc: "2.0", id, error });

function validId(v: unknown): v is Id {
  return v === null || typeof v === "string" || (typeof v === "number" && Number.isFinite(v));
}

export function appErrorToRpc(err: AppError, requestId: string): RpcError {
  return { code: err.rpcCode, message: err.message, data: { code: err.code, requestId, ...(err.details ?? {}) } };
}

async function callOne(registry: RpcRegistry, req: unknown, ctx: DispatchContext): Promise<RpcResponse | null> {
  if (!req || typeof req !== "object" || Array.isArray(req)) {
    return errorResponse(null, { code: -32600, message: "Invalid Request: each request must be a JSON object", data: { code: "BAD_REQUEST" } });
  }
  const r = req as Record<string, unknown>;
  const hasId = "id" in r;
  const id: Id = hasId && validId(r.id) ? r.id : null;
  if (r.jsonrpc !== "2.0") return errorResponse(id, { code: -32600, message: 'Invalid Request: "jsonrpc" must be "2.0"', data: { code: "BAD_REQUEST" } });
  if (typeof r.method !== "string" || r.method.length === 0) {
    return errorResponse(id, { code: -32600, message: 'Invalid Request: "method" must be a non-empty string', data: { code: "BAD_REQUEST" } });
  }
  if (hasId && !validId(r.id)) return errorResponse(null, { code: -32600, message: 'Invalid Request: "id" must be a string, a number or null', data: { code: "BAD_REQUEST" } });
  if ("params" in r && (r.params === null || typeof r.params !== "object")) {
    return errorResponse(id, { code: -32600, message: 'Invalid Request: "params" must be an object or an array', data: { code: "BAD_REQUEST" } });
  }
  const method = registry.get(r.method);
  if (!method) {
    return hasId ? errorResponse(id, { code: -32601, message: `Method not found: ${r.method.slice(0, 100)}`, data: { code: "NOT_FOUND" } }) : null;
  }
  if (method.returnsSecret && !hasId) {
    // Answered although it is a notification: silently dropping it would hide why nothing happened.
    return errorResponse(null, {
      code: -32600,
      message: `Invalid Request: ${method.name} returns a secret shown only once, so it must be called with an "id" (as a notification its result would be lost); it was not run`,
      data: { code: "BAD_REQUEST", method: method.name },
    });
  }
  // An empty array is "no parameters": @open-rpc/client-js and others send `params: []` for calls without any.
  if (Array.isArray(r.params) && r.params.length > 0) {
    return hasId ? errorResponse(id, { code: -32602, message: "Invalid params: pass params by name (a JSON object)", data: { code: "INVALID_PARAMS" } }) : null;
  }
  const params = (Array.isArray(r.params) ? {} : (r.params ?? {})) as Record<string, unknown>;
  const reserved = findReservedKey(params);
  if (reserved) {
    const where = formatKeyPath(["params", ...reserved]);
    return hasId ? errorResponse(id, { code: -32602, message: `Invalid params: ${where} ${RESERVED_KEY_MESSAGE}`, data: { code: "INVALID_PARAMS", param: where } }) : null;
  }
  if (!method.check.Check(params)) {
    const first = [...method.check.Errors(params)][0];
    const where = first ? formatKeyPath(["params", ...pointerToParts(first.path)]) : "params";
    const message = first?.message === "Unexpected property" ? `${where} is not a known parameter` : first ? `${where} ${describeError(first)}` : "params: invalid";
    return hasId ? errorResponse(id, { code: -32602, message: `Invalid params: ${message}`, data: { code: "INVALID_PARAMS" } }) : null;
  }
  const requestId = ctx.rpc.op.requestId;
  if (method.mutates && !method.freesSpace && ctx.opts.admitChange) {
    // Under the disk reserve a tenant's changes wait (before the change rate is spent on them).
    try {
      ctx.opts.admitChange(method.name);
    } catch (err) {
      return hasId ? errorResponse(id, appErrorToRpc(toAppError(err), requestId)) : null;
    }
  }
  const audits = typeof method.audited === "function" ? method.audited(ctx.rpc, params as never) : method.audited === true;
  if (audits && ctx.opts.takeChange) {
    const retryAfterSeconds = ctx.opts.takeChange();
    if (retryAfterSeconds !== null) {
      const limited = new AppError("RATE_LIMITED", `too many changes: ${method.name} was not run; a tenant may make ${ctx.opts.changesPerMinute ?? "a limited number of"} audited changes a minute (gateway.limits.tenantChangesPerMinute); retry in ${retryAfterSeconds} s`, {
        details: { retryAfterSeconds, method: method.name },
      });
      ctx.retryAfterSeconds = Math.max(ctx.retryAfterSeconds ?? 0, retryAfterSeconds);
      return hasId ? errorResponse(id, appErrorToRpc(limited, requestId)) : null;
    }
  }
  try {
    const result = await method.handler(ctx.rpc, params as never);
    if (!hasId && ctx.opts.charge) ctx.unsent += Buffer.byteLength(JSON.stringify(result ?? null) ?? "");
    return hasId ? { jsonrpc: "2.0", id, result: result ?? null } : null;
  } catch (err) {
    // A stale identity ends the whole request (as a 401), not just this item.
    if (err instanceof IdentityEnded) throw err;
    const app = toAppError(err);
    if (app.code === "INTERNAL") ctx.opts.log.error("rpc method failed", { method: method.name, requestId, error: String(err) });
    return hasId ? errorResponse(id, appErrorToRpc(app, requestId)) : null;
  }
}

export interface DispatchLimits {
  /** Nesting depth of the request's JSON (gateway.limits.jsonMaxDepth). */
  maxDepth: number;
  /** Bytes of responses one request may return, a batch counted together (gateway.limits.rpcResponseBytes). */
  responseBytes: number;
  /** The config key that sets `responseBytes`, named in the refusal (default gateway.limits.rpcResponseBytes). */
  responseBytesKey?: string;
  /**
   * Takes one of the tenant's audited changes (a token bucket): null when granted, else the seconds
   * until the next one. Asked before every method that declares `audited`.
   */
  takeChange?: () => number | null;
  /** gateway.limits.tenantChangesPerMinute, for the refusal's message. */
  changesPerMinute?: number;
  /**
   * Throws when a tenant's change may not be made now (the disk reserve: UNAVAILABLE). Asked before
   * every method that `mutates`, except those that only free space.
   */
  admitChange?: (method: string) => void;
  /**
   * Told the bytes of every result made for the request, sent or not — one too large to send, a
   * batch item dropped past the budget, a notification's — once the request is done: the work was
   * done for the tenant, and a budget of that work must be charged what was made, not what was sent.
   */
  charge?: (bytes: number) => void;
  log: Logger;
}

/** What to send: serialised responses, each counted against the budget as soon as it was made. */
export interface DispatchOutput {
  /** The single response, or the batch's responses (the caller joins them into an array). */
  parts: string[];
  batch: boolean;
  bytes: number;
  /** Set when an item was refused by the change rate: the largest wait, for a Retry-After header. */
  retryAfterSeconds?: number;
}

interface DispatchContext {
  rpc: RpcContext;
  opts: DispatchLimits;
  retryAfterSeconds?: number;
  /** Bytes of results made that no response carries (notifications'). */
  unsent: number;
}

const batchError = (message: string): DispatchOutput => single(errorResponse(null, { code: -32600, message, data: { code: "BAD_REQUEST" } }));

function single(res: RpcResponse): DispatchOutput {
  const text = JSON.stringify(res);
  return { parts: [text], batch: false, bytes: Buffer.byteLength(text) };
}

function tooLarge(id: Id, message: string, ran: boolean, limit: number, requestId: string): RpcResponse {
  return errorResponse(id, appErrorToRpc(new AppError("PAYLOAD_TOO_LARGE", message, { details: { ran, limit } }), requestId));
}

/**
 * Runs a request: one call or a batch, in order. Returns null when there is nothing to send (only
 * notifications). Throws IdentityEnded when the request's identity stopped being valid before an
 * item: nothing after that point runs, and the edge answers the one 401.
 */
export async function dispatch(registry: RpcRegistry, text: string, rpc: RpcContext, limits: DispatchLimits): Promise<DispatchOutput | null> {
  const ctx: DispatchContext = { rpc, opts: limits, unsent: 0 };
  let out: DispatchOutput | null = null;
  try {
    out = await run(registry, text, ctx);
    return out;
  } finally {
    limits.charge?.(ctx.unsent + (out?.bytes ?? 0));
  }
}

async function run(registry: RpcRegistry, text: string, ctx: DispatchContext): Promise<DispatchOutput | null> {
  const { rpc, opts: limits } = ctx;
  const requestId = rpc.op.requestId;
  const tooDeep = jsonDepthExcess(text, limits.maxDepth);
  if (tooDeep !== null) return batchError(`Invalid Request: the request is ${depthMessage(limits.maxDepth, "gateway.limits.jsonMaxDepth")} (at character ${tooDeep})`);
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (err) {
    return single(errorResponse(null, { code: -32700, message: `Parse error: ${(err as Error).message}`, data: { code: "BAD_REQUEST" } }));
  }
  const budget = limits.responseBytes;
  const budgetKey = limits.responseBytesKey ?? "gateway.limits.rpcResponseBytes";
  if (!Array.isArray(payload)) {
    rpc.tenant.assertCurrent();
    const res = await callOne(registry, payload, ctx);
    if (!res) return null;
    const out = single(res);
    if (out.bytes > budget) {
      ctx.unsent += out.bytes;
      return single(tooLarge(res.id, `the result (${out.bytes} bytes) is larger than the response limit of ${budget} bytes (${budgetKey}); the call ran, but its result is not sent: ask for less at a time`, true, budget, requestId));
    }
    return { ...out, retryAfterSeconds: ctx.retryAfterSeconds };
  }
  if (payload.length === 0) return batchError("Invalid Request: empty batch");
  if (payload.length > MAX_BATCH) return batchError(`Invalid Request: batch of ${payload.length} exceeds the limit of ${MAX_BATCH}`);
  const parts: string[] = [];
  let bytes = 2; // the brackets
  let full = false;
  const push = (res: RpcResponse) => {
    const s = JSON.stringify(res);
    parts.push(s);
    bytes += Buffer.byteLength(s) + 1;
  };
  for (const item of payload) {
    const itemId = idOf(item);
    if (full) {
      // Not run: results already reached the budget. Notifications get no answer, as always.
      if (itemId !== undefined) push(tooLarge(itemId, `not run: this batch's results reached the response limit of ${budget} bytes (${budgetKey}); send the rest in another request`, false, budget, requestId));
      continue;
    }
    rpc.tenant.assertCurrent();
    const res = await callOne(registry, item, ctx);
    if (!res) continue;
    const s = JSON.stringify(res);
    const size = Buffer.byteLength(s) + 1;
    if (bytes + size > budget) {
      // Dropped as soon as it is known to be too much: what a request holds stays near the budget.
      full = true;
      ctx.unsent += size - 1;
      push(tooLarge(res.id, `this item ran, but its result (${size - 1} bytes) would take the batch past the response limit of ${budget} bytes (${budgetKey}), so it is not sent; later items were not run`, true, budget, requestId));
      continue;
    }
    parts.push(s);
    bytes += size;
  }
  return parts.length ? { parts, batch: true, bytes, retryAfterSeconds: ctx.retryAfterSeconds } : null;
}

/** The id a batch item would be answered with, or undefined for a notification. */
function idOf(item: unknown): Id | undefined {
  if (!item || typeof item !== "object" || Array.isArray(item)) return null;
  const r = item as Record<string, unknown>;
  if (!("id" in r)) return undefined;
  return validId(r.id) ? r.id : null;
}

/**
 * Refuses a whole request without running any of it (the WebSocket's rate limit or the tenant's
 * concurrency): the same error for each item that has an id, so every call is answered and can be
 * retried; nothing for notifications. Null when there is nothing to send.
 */
export function refuseAll(text: string, err: AppError, requestId: string, maxDepth: number): string | null {
  let payload: unknown = null;
  if (jsonDepthExcess(text, maxDepth) === null) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = null;
    }
  }
  const error = appErrorToRpc(err, requestId);
  if (!Array.isArray(payload)) {
    const id = idOf(payload);
    return id === undefined ? null : JSON.stringify(errorResponse(id, error));
  }
  const parts = payload.slice(0, MAX_BATCH).map(idOf).filter((id): id is Id => id !== undefined).map((id) => JSON.stringify(errorResponse(id, error)));
  return parts.length ? `[${parts.join(",")}]` : null;
}
