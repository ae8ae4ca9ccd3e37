// Tenant-facing RPC methods of the tenants module: a tenant reads itself, rotates its own token and
// sees its quota. Each method may name a tenant only to name itself.
import { Type as T } from "@sinclair/typebox";
import { AppError } from "../../core/errors.ts";
import { parseDuration } from "../../lib/duration.ts";
import { defineMethod } from "../rpc/registry.ts";
import { opContext, selfOnly } from "../rpc/tenant-scope.ts";
import { TenantViewSchema } from "./tenants.model.ts";

const strict = { additionalProperties: false } as const;
export const SelfTenantId = T.Optional(T.String({ minLength: 1, maxLength: 64, description: "your own tenant id (the default); any other id is not found" }));

export const tenantsRpc = [
  defineMethod({
    name: "tenants.get",
    summary: "The calling tenant: status, token prefix, quota limits.",
    params: T.Object({ tenantId: SelfTenantId }, strict),
    result: TenantViewSchema,
    tenantScoped: true,
    mutates: false,
    example: {},
    handler: (ctx, p) => ctx.core.tenants.get(selfOnly(ctx, p.tenantId, "tenants.get")),
  }),
  defineMethod({
    name: "tenants.rotate",
    summary: "Rotates the calling tenant's token; the new token is returned once. The old one stops working now, or after `grace`.",
    params: T.Object({ tenantId: SelfTenantId, grace: T.Optional(T.String({ maxLength: 32, description: '"0" (default), "90s", "15m", "1h", up to "30d"' })) }, strict),
    result: T.Object({ tenantId: T.String(), token: T.String(), tokenPrefix: T.String(), graceUntil: T.Union([T.String(), T.Null()]) }),
    tenantScoped: true,
    mutates: true,
    audited: true,
    returnsSecret: true,
    example: { grace: "0" },
    handler: (ctx, p) => {
      const id = selfOnly(ctx, p.tenantId, "tenants.rotate");
      const grace = parseDuration(p.grace ?? "0");
      if (grace === null) throw new AppError("INVALID_PARAMS", `grace ${JSON.stringify(p.grace)} is not a duration (e.g. 0, 90s, 15m, 1h, 7d)`);
      const rotated = ctx.core.tenants.rotateToken(id, grace, opContext(ctx));
      // This request now holds the new token: the rest of its batch goes on as that token's holder.
      ctx.scope.adopt(rotated.token);
      return rotated;
    },
  }),
  defineMethod({
    name: "tenants.quota.status",
    summary: "The calling tenant's quota limits, today's usage against them, what remains, and when the daily counters reset.",
    params: T.Object({ tenantId: SelfTenantId }, strict),
    result: T.Object({
      tenantId: T.String(),
      limits: T.Record(T.String(), T.Union([T.Number(), T.Null()])),
      source: T.Record(T.String(), T.String()),
      day: T.Object({ resetsAt: T.String() }),
      usage: T.Record(T.String(), T.Unknown()),
    }),
    tenantScoped: true,
    mutates: false,
    example: {},
    handler: (ctx, p) => ctx.core.quotaStatus(selfOnly(ctx, p.tenantId, "tenants.quota.status")),
  }),
];
