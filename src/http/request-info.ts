// Per-request facts set once at the edge (request id, client IP, authenticated actor), looked up by
// route modules without threading them through Elysia's type system.
import type { Actor } from "../modules/audit/audit.record.ts";
import type { Surface } from "./surface.ts";

export interface RequestInfo {
  requestId: string;
  ip: string;
  path: string;
  surface: Surface;
  actor?: Actor;
  tenantId?: string;
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
export function actorOf(request: Request): { actor: Actor; requestId: string; ip: string } {
  const info = requestInfo(request);
  if (!info.actor) throw new Error("route reached without an authenticated actor");
  return { actor: info.actor, requestId: info.requestId, ip: info.ip };
}
