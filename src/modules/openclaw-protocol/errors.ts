// Errors on the v4 wire: upstream's shape {code, message, details?, retryable?, retryAfterMs?}. A
// handler's V4Error goes out as it is; our AppErrors map onto upstream's few codes (the message and
// safe details kept, with our own code in details.code so nothing is lost); anything else is INTERNAL
// without a word about why (it is logged).
import { AppError, toAppError } from "../../core/errors.ts";
import { V4Error } from "./methods.ts";

export interface V4ErrorShape {
  code: string;
  message: string;
  details?: Record<string, unknown>;
  retryable?: boolean;
  retryAfterMs?: number;
}

/** The one answer to every failed authentication in `connect` (then close 1008). */
export const UNAUTHORIZED: V4ErrorShape = Object.freeze({
  code: "INVALID_REQUEST",
  message: "unauthorized: gateway token mismatch (use this tenant's token)",
  details: Object.freeze({ code: "AUTH_TOKEN_MISMATCH", authReason: "token_mismatch", canRetryWithDeviceToken: false, recommendedNextStep: "update_auth_credentials" }),
}) as V4ErrorShape;

function retryAfterMs(e: AppError): number | undefined {
  const secs = e.details?.retryAfterSeconds ?? e.headers?.["retry-after"];
  const n = Number(secs);
  return Number.isFinite(n) && n > 0 ? Math.ceil(n * 1000) : undefined;
}

export function toV4Error(err: unknown): V4ErrorShape & { internal?: boolean } {
  if (err instanceof V4Error) {
    return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}), ...(err.retryable !== undefined ? { retryable: err.retryable } : {}), ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}) };
  }
  const e = toAppError(err);
  const details = { ...(e.details ?? {}), code: e.code };
  switch (e.code) {
    case "RATE_LIMITED":
    case "QUOTA_EXCEEDED":
    case "UNAVAILABLE":
    case "AUDIT_UNAVAILABLE":
    case "UPSTREAM_ERROR":
    case "UPSTREAM_TIMEOUT": {
      const after = retryAfterMs(e);
      // A quota that resets on a day or month boundary is not worth retrying soon.
      const retryable = e.code !== "QUOTA_EXCEEDED" || (after !== undefined && after <= 60_000);
      return { code: "UNAVAILABLE", message: e.message, details, retryable, ...(after !== undefined ? { retryAfterMs: after } : {}) };
    }
    case "FORBIDDEN":
      return { code: "FORBIDDEN", message: e.message, details };
    case "UNAUTHORIZED":
      return { ...UNAUTHORIZED };
    case "INTERNAL":
    case "DB_TOO_NEW":
      return { code: "UNAVAILABLE", message: "internal error", details: { code: "INTERNAL" }, internal: true };
    default:
      // NOT_FOUND, INVALID_PARAMS, BAD_REQUEST, CONFLICT, PAYLOAD_TOO_LARGE …: the request as sent cannot succeed.
      return { code: "INVALID_REQUEST", message: e.message, details };
  }
}
