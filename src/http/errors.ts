// Error envelopes, one per surface, all derived from the one code table:
//   control plane  {"error":{"code","message","requestId"}}
//   JSON-RPC       {"jsonrpc":"2.0","id":null,"error":{"code","message","data":{"code"}}}
//   OpenAI routes  {"error":{"message","type","code","param"}}
//   Anthropic      {"type":"error","error":{"type","message"}} (/v1/messages*)
import { AppError, type ErrorCode } from "../core/errors.ts";
import { API_HEADERS } from "../edge/security-headers.ts";
import type { Surface } from "../edge/surface.ts";

const OPENAI_TYPE: Partial<Record<ErrorCode, { type: string; code: string | null }>> = {
  UNAUTHORIZED: { type: "invalid_request_error", code: "invalid_api_key" },
  RATE_LIMITED: { type: "requests", code: "rate_limit_exceeded" },
  QUOTA_EXCEEDED: { type: "insufficient_quota", code: "insufficient_quota" },
  NOT_FOUND: { type: "invalid_request_error", code: "not_found" },
  PAYLOAD_TOO_LARGE: { type: "invalid_request_error", code: "request_too_large" },
  UPSTREAM_ERROR: { type: "api_error", code: "upstream_error" },
  UPSTREAM_TIMEOUT: { type: "api_error", code: "upstream_timeout" },
  INTERNAL: { type: "api_error", code: null },
};

/** Anthropic's error types by our code (what its SDKs map to their error classes, by status). */
const ANTHROPIC_TYPE: Partial<Record<ErrorCode, string>> = {
  UNAUTHORIZED: "authentication_error",
  FORBIDDEN: "permission_error",
  NOT_FOUND: "not_found_error",
  PAYLOAD_TOO_LARGE: "request_too_large",
  RATE_LIMITED: "rate_limit_error",
  QUOTA_EXCEEDED: "rate_limit_error",
  UNAVAILABLE: "overloaded_error",
  AUDIT_UNAVAILABLE: "api_error",
  INTERNAL: "api_error",
  UPSTREAM_ERROR: "api_error",
  UPSTREAM_TIMEOUT: "timeout_error",
  DB_TOO_NEW: "api_error",
};

export function anthropicErrorType(err: AppError): string {
  return ANTHROPIC_TYPE[err.code] ?? "invalid_request_error";
}

export function errorBody(err: AppError, surface: Surface, requestId: string): unknown {
  // 401s carry no request id in the body, so every kind of authentication failure is byte-identical.
  const withId = err.code !== "UNAUTHORIZED";
  switch (surface) {
    case "rpc":
    case "mcp":
      return {
        jsonrpc: "2.0",
        id: null,
        error: { code: err.rpcCode, message: err.message, data: { code: err.code, ...(withId ? { requestId } : {}) } },
      };
    case "openai": {
      // model_not_found only for the model parameter: an unknown route or resource is plain not_found.
      const t = err.code === "NOT_FOUND" && err.details?.param === "model" ? { type: "invalid_request_error", code: "model_not_found" } : (OPENAI_TYPE[err.code] ?? { type: "invalid_request_error", code: err.code.toLowerCase() });
      return { error: { message: err.message, type: t.type, code: t.code, param: (err.details?.param as string | undefined) ?? null } };
    }
    case "anthropic":
      return { type: "error", error: { type: anthropicErrorType(err), message: err.message }, ...(withId ? { request_id: requestId } : {}) };
    default:
      return { error: { code: err.code, message: err.message, requestId, ...(err.details ? { details: err.details } : {}) } };
  }
}

/** A Retry-After longer than this is not "soon": clients are told not to retry. */
export const RETRY_SOON_SECONDS = 60;

/**
 * Whether a retry of this refusal can succeed soon. The OpenAI and Anthropic SDKs retry 408, 409, 429
 * and 5xx unless `x-should-retry: false` says otherwise, and sleep on long Retry-Afters: a daily quota
 * or a revoked credential would hold each call for hours. The accurate reset time stays in Retry-After
 * (and the body's message); the header only stops the automatic retries.
 */
export function retryableSoon(err: AppError): boolean {
  if (err.code === "QUOTA_EXCEEDED" || err.code === "UNAUTHORIZED" || err.code === "FORBIDDEN") return false;
  const after = Number(err.headers?.["retry-after"]);
  return !(after > RETRY_SOON_SECONDS);
}

export function errorResponse(err: AppError, surface: Surface, requestId: string): Response {
  const headers: Record<string, string> = { ...API_HEADERS, "x-request-id": requestId, "content-type": "application/json; charset=utf-8", ...(err.headers ?? {}) };
  if (!retryableSoon(err)) headers["x-should-retry"] = "false";
  if (err.code === "UNAUTHORIZED") headers["www-authenticate"] = 'Bearer realm="openclaw"';
  return new Response(JSON.stringify(errorBody(err, surface, requestId)), { status: err.status, headers });
}

/** The one 401 every authentication failure gets. */
export const unauthorized = () => new AppError("UNAUTHORIZED", "invalid or missing credentials");
