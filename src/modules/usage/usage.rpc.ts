// Tenant-facing usage methods: a tenant sees only its own usage.
import { Type as T } from "@sinclair/typebox";
import { defineMethod } from "../../http/rpc/registry.ts";
import { selfOnly } from "../rpc/tenant-scope.ts";
import { SelfTenantId } from "../tenants/tenants.rpc.ts";

const strict = { additionalProperties: false } as const;
const Day = T.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}$", description: "UTC date, YYYY-MM-DD" });

export const usageRpc = [
  defineMethod({
    name: "tenants.usage",
    summary: "The calling tenant's usage and cost: today, this month, and this month per model; sandbox runs and seconds.",
    params: T.Object({ tenantId: SelfTenantId }, strict),
    result: T.Record(T.String(), T.Unknown()),
    tenantScoped: true,
    mutates: false,
    example: {},
    handler: (ctx, p) => {
      const id = selfOnly(ctx, p.tenantId, "tenants.usage");
      return { ...ctx.core.usage.summary(id), sandbox: ctx.core.sandbox.usage(id) };
    },
  }),
  defineMethod({
    name: "tenants.usage.history",
    summary: "The calling tenant's usage per UTC day and model, from..to inclusive (default: the last 30 days).",
    params: T.Object({ tenantId: SelfTenantId, from: T.Optional(Day), to: T.Optional(Day) }, strict),
    result: T.Object({ days: T.Array(T.Record(T.String(), T.Unknown())) }),
    tenantScoped: true,
    mutates: false,
    example: {},
    handler: (ctx, p) => ({ days: ctx.core.usage.history({ tenantId: selfOnly(ctx, p.tenantId, "tenants.usage.history"), from: p.from, to: p.to }) }),
  }),
];
