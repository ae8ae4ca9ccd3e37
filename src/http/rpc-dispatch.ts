// JSON-RPC 2.0 dispatch: single calls and batches, notifications, and the spec's error codes
// (-32700 parse error, -32600 invalid request, -32601 method not found, -32602 invalid params).
// Application errors carry the gateway's error code in data.code.
import { toAppError, type AppError } from "../core/errors.ts";
import { formatKeyPath, pointerToParts } from "../config/key-path.ts";
import { findReservedKey, RESERVED_KEY_MESSAGE } from "../lib/json-safe.ts";
import type { Logger } from "../core/logger.ts";
import type { RpcContext } from "../edge/rpc.ts";
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

async function callOne(registry: RpcRegistry, req: unknown, ctx: RpcContext, log: Logger): Promise<RpcResponse | null> {
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
  if (Array.isArray(r.params)) {
    return hasId ? errorResponse(id, { code: -32602, message: "Invalid params: pass params by name (a JSON object)", data: { code: "INVALID_PARAMS" } }) : null;
  }
  const params = (r.params ?? {}) as Record<string, unknown>;
  const reserved = findReservedKey(params);
  if (reserved) {
    const where = formatKeyPath(["params", ...reserved]);
    return hasId ? errorResponse(id, { code: -32602, message: `Invalid params: ${where} ${RESERVED_KEY_MESSAGE}`, data: { code: "INVALID_PARAMS", param: where } }) : null;
  }
  if (!method.check.Check(params)) {
    const first = [...method.check.Errors(params)][0];
    const where = first ? formatKeyPath(["params", ...pointerToParts(first.path)]) : "params";
    const message = first?.message === "Unexpected property" ? `${where} is not a known parameter` : `${where}: ${first?.message.toLowerCase() ?? "invalid"}`;
    return hasId ? errorResponse(id, { code: -32602, message: `Invalid params: ${message}`, data: { code: "INVALID_PARAMS" } }) : null;
  }
  try {
    const result = await method.handler(ctx, params as never);
    return hasId ? { jsonrpc: "2.0", id, result: result ?? null } : null;
  } catch (err) {
    const app = toAppError(err);
    if (app.code === "INTERNAL") log.error("rpc method failed", { method: method.name, requestId: ctx.op.requestId, error: String(err) });
    return hasId ? errorResponse(id, appErrorToRpc(app, ctx.op.requestId)) : null;
  }
}

/** Returns the response body, or null when there is nothing to send (only notifications). */
export async function dispatch(registry: RpcRegistry, text: string, ctx: RpcContext, log: Logger): Promise<string | null> {
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (err) {
    return JSON.stringify(errorResponse(null, { code: -32700, message: `Parse error: ${(err as Error).message}`, data: { code: "BAD_REQUEST" } }));
  }
  if (Array.isArray(payload)) {
    if (payload.length === 0) return JSON.stringify(errorResponse(null, { code: -32600, message: "Invalid Request: empty batch", data: { code: "BAD_REQUEST" } }));
    if (payload.length > MAX_BATCH) {
      return JSON.stringify(errorResponse(null, { code: -32600, message: `Invalid Request: batch of ${payload.length} exceeds the limit of ${MAX_BATCH}`, data: { code: "BAD_REQUEST" } }));
    }
    const out: RpcResponse[] = [];
    for (const item of payload) {
      const res = await callOne(registry, item, ctx, log);
      if (res) out.push(res);
    }
    return out.length ? JSON.stringify(out) : null;
  }
  const res = await callOne(registry, payload, ctx, log);
  return res ? JSON.stringify(res) : null;
}

