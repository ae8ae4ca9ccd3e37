// Control-plane usage across tenants: per tenant, and per day, tenant and model.
import { Elysia, t } from "elysia";
import { routeDoc } from "../../edge/route-doc.ts";
import type { UsageService } from "./usage.service.ts";

export const UsageRange = t.Object({
  from: t.Optional(t.String({ maxLength: 10, description: "UTC date YYYY-MM-DD (default: 29 days ago)" })),
  to: t.Optional(t.String({ maxLength: 10, description: "UTC date YYYY-MM-DD, inclusive (default: today)" })),
});
const doc = routeDoc("usage");

export function usageRoutes({ usage }: { usage: UsageService }) {
  return new Elysia()
    .get("/usage", ({ query }) => ({ from: query.from ?? null, to: query.to ?? null, tenants: usage.byTenant(query) }), { query: UsageRange, ...doc("usage.byTenant", "Usage and cost per tenant over a date range") })
    .get("/usage/daily", ({ query }) => ({ days: usage.daily(query) }), { query: UsageRange, ...doc("usage.daily", "Usage per day, tenant and model (the CSV export's rows)") });
}
