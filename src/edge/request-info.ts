// Per-request facts set once at the edge (request id, client IP, the authenticated actor and, on the
// tenant surfaces, the tenant's identity), looked up by routes without threading them through
// Elysia's type system.
import type { Actor } from "./actor.ts";
import type { Surface } from "./surface.ts";
import type { AdminContext, TenantIdentity } from "./tenant-scope.ts";

export interface RequestInfo {
  /** Ours, always (never the client's). */
  requestId: string;
  /** The client's own x-request-id, when it sent a plain one: kept for correlation, never trusted. */
  clientRequestId?: string;
  ip: string;
  path: string;
  surface: Surface;
  actor?: Actor;
  /**
   * The tenant surfaces (/rpc, /v1, /ws): the tenant the verified token belongs to, bound to its
   * incarnation and that token (`assertCurrent()` before each long step).
   */
  tenant?: TenantIdentity;
  /** The control plane: the admin key's holder, who may name any tenant. */
  admin?: AdminContext;
  /** The web console's paths (/ui/): whether the browser reached the gateway over TLS (directly or through a trusted proxy). */
  viaTls?: boolean;
  /** performance.now() when the request arrived (metrics, access log). */
  startedAt?: number;
  /** The status of an error response made outside a route (metrics, access log). */
  status?: number;
}

const infos = new WeakMap<Request, RequestInfo>();

export function setRequestInfo(request: Request, info: RequestInfo): void {
  infos.set(request, info);
}

export function requestInfo(request: Request): RequestInfo {
  const info = infos.get(request);
  if (!info) throw new Error("request info missing: the request did not pass through the gateway's edge");
  return info;
}

/** The admin of a control-plane route (set by the edge's admin-key check). */
export function adminOf(request: Request): AdminContext {
  const admin = requestInfo(request).admin;
  if (!admin) throw new Error("control-plane route reached without an authenticated admin");
  return admin;
}

/** The tenant of a tenant-surface route (set by the edge's token check). */
export function tenantOf(request: Request): TenantIdentity {
  const tenant = requestInfo(request).tenant;
  if (!tenant) throw new Error("tenant route reached without an authenticated tenant");
  return tenant;
}

/**
 * The path of a request, without trusting that its URL parses: an HTTP/1.0 request without a Host
 * header reaches the gateway with a relative URL, which `new URL` refuses. `absolute` is false then.
 */
export function targetOf(request: Request): { pathname: string; absolute: boolean } {
  const raw = request.url;
  try {
    return { pathname: new URL(raw).pathname, absolute: true };
  } catch {
    const path = raw.startsWith("/") ? raw.split(/[?#]/, 1)[0]! : "/";
    return { pathname: path.slice(0, 2048), absolute: false };
  }
}
