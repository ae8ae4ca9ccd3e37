// The one error type and the one table from error code to HTTP status and JSON-RPC code.
// Throw sites name a code; edges (HTTP, RPC, CLI) derive status and shape from this table.

export const ERROR_TABLE = {
  BAD_REQUEST: { http: 400, rpc: -32600 },
  INVALID_PARAMS: { http: 400, rpc: -32602 },
  CONFIG_INVALID: { http: 400, rpc: -32010 },
  UNAUTHORIZED: { http: 401, rpc: -32001 },
  FORBIDDEN: { http: 403, rpc: -32003 },
  NOT_FOUND: { http: 404, rpc: -32004 },
  METHOD_NOT_ALLOWED: { http: 405, rpc: -32601 },
  CONFLICT: { http: 409, rpc: -32009 },
  PAYLOAD_TOO_LARGE: { http: 413, rpc: -32013 },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, rpc: -32015 },
  RATE_LIMITED: { http: 429, rpc: -32029 },
  QUOTA_EXCEEDED: { http: 429, rpc: -32030 },
  HEADERS_TOO_LARGE: { http: 431, rpc: -32031 },
  INTERNAL: { http: 500, rpc: -32603 },
  UPSTREAM_ERROR: { http: 502, rpc: -32052 },
  AUDIT_UNAVAILABLE: { http: 503, rpc: -32050 },
  UNAVAILABLE: { http: 503, rpc: -32051 },
  UPSTREAM_TIMEOUT: { http: 504, rpc: -32054 },
  DB_TOO_NEW: { http: 500, rpc: -32060 },
} as const satisfies Record<string, { http: number; rpc: number }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

export interface AppErrorOptions {
  /** Safe to show to the caller. */
  details?: Record<string, unknown>;
  /** Internal context for logs; never shown to callers. */
  context?: Record<string, unknown>;
  cause?: unknown;
  /** Extra response headers (e.g. Retry-After). */
  headers?: Record<string, string>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;
  readonly context?: Record<string, unknown>;
  readonly headers?: Record<string, string>;

  constructor(code: ErrorCode, message: string, opts: AppErrorOptions = {}) {
    super(message, { cause: opts.cause });
    this.name = "AppError";
    this.code = code;
    this.details = opts.details;
    this.context = opts.context;
    this.headers = opts.headers;
  }

  get status(): number {
    return ERROR_TABLE[this.code].http;
  }

  get rpcCode(): number {
    return ERROR_TABLE[this.code].rpc;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Anything that is not an AppError becomes INTERNAL with a message that reveals nothing. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError("INTERNAL", "internal error", { cause: err });
}

export const notFound = (what: string) => new AppError("NOT_FOUND", `${what} not found`);
