// Per-request facts set once at the edge (request id, client IP, authenticated actor), looked up by
// route modules without threading them through Elysia's type system.
import type { Actor } from "../modules/audit/audit.record.ts";
import type { TenantScope } from "../modules/tokens/tenant-scope.ts";
import type { Surface } from "./surface.ts";

export interface RequestInfo {
  /** Ours, always (never the client's). */
  requestId: string;
  /** The client's own x-request-id, when it sent a plain one: kept for correlation, never trusted. */
  clientRequestId?: string;
  ip: string;
  path: string;
  surface: Surface;
  actor?: Actor;
  tenantId?: string;
  /** Tenant surfaces: the identity bound at authentication, to re-check before each long step. */
  scope?: TenantScope;
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

/** The authenticated actor of an admin or tenant route (set by the surface's guard). */
export function actorOf(request: Request): { actor: Actor; requestId: string; clientRequestId?: string; ip: string } {
  const info = requestInfo(request);
  if (!info.actor) throw new Error("route reached without an authenticated actor");
  return { actor: info.actor, requestId: info.requestId, clientRequestId: info.clientRequestId, ip: info.ip };
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
