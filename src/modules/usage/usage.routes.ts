// Control-plane usage: per tenant and across tenants.
import { Elysia, t } from "elysia";
import type { Core } from "../../app/core.ts";

const Range = t.Object({
  from: t.Optional(t.String({ maxLength: 10, description: "UTC date YYYY-MM-DD (default: 29 days ago)" })),
  to: t.Optional(t.String({ maxLength: 10, description: "UTC date YYYY-MM-DD, inclusive (default: today)" })),
});
const doc = (operationId: string, summary: string) => ({ detail: { operationId, summary, tags: ["usage"], security: [{ adminKey: [] }] } });

export function usageRoutes(core: Core) {
  return new Elysia()
    .get("/usage", ({ query }) => ({ from: query.from ?? null, to: query.to ?? null, tenants: core.usage.byTenant(query) }), { query: Range, ...doc("usage.byTenant", "Usage and cost per tenant over a date range") })
    .get(
      "/usage/daily",
      ({ query }) => ({ days: core.usage.history(query) }),
      { query: Range, ...doc("usage.daily", "Usage per day, tenant and model (the CSV export's rows)") },
    )
    .get(
      "/tenants/:id/usage",
      ({ params, query }) => {
        core.tenants.get(params.id);
        return { ...core.usage.summary(params.id), sandbox: core.sandbox.usage(params.id), quota: core.quotaStatus(params.id), days: core.usage.history({ tenantId: params.id, ...query }) };
      },
      { params: t.Object({ id: t.String({ maxLength: 64 }) }), query: Range, ...doc("tenants.getUsage", "A tenant's usage: today, this month, per model, per day, and quota status") },
    );
}
