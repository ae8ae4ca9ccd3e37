// How a route describes itself in the OpenAPI document (http/openapi.ts finishes the document from
// this and from the route's shape): operationId `<area>.<action>`, one tag per module, the admin key,
// and the error codes the route returns beyond those its shape implies (401/429 for the admin key,
// 400 for parameters or a body, 413/415 for a body, 404 for a path parameter).
import type { ErrorCode } from "../core/errors.ts";

export interface RouteDetail {
  operationId: string;
  summary: string;
  tags: string[];
  security: Record<string, string[]>[];
  "x-errors"?: ErrorCode[];
}

/** `const doc = routeDoc("tenants")`, then `...doc("tenants.create", "Create a tenant", ["CONFLICT"])` on each route. */
export function routeDoc(tag: string, opts: { security?: Record<string, string[]>[] } = {}) {
  return (operationId: string, summary: string, errors: ErrorCode[] = []): { detail: RouteDetail } => ({
    detail: { operationId, summary, tags: [tag], security: opts.security ?? [{ adminKey: [] }], ...(errors.length ? { "x-errors": errors } : {}) },
  });
}
