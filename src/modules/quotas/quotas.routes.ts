// Control-plane quota routes: a tenant's quota (GET, PATCH), and its usage with its quota status.
import { Elysia, t } from "elysia";
import { routeDoc } from "../../edge/route-doc.ts";
import { adminOf } from "../../edge/request-info.ts";
import type { SandboxService } from "../sandbox/sandbox.service.ts";
import { QuotaPatchSchema, QuotaViewSchema } from "../tenants/quota.model.ts";
import type { TenantsService } from "../tenants/tenants.service.ts";
import { UsageRange } from "../usage/usage.routes.ts";
import type { UsageService } from "../usage/usage.service.ts";
import type { QuotasService } from "./quotas.service.ts";

const Id = t.Object({ id: t.String({ maxLength: 64 }) });
const doc = (tag: string, operationId: string, summary: string) => routeDoc(tag)(operationId, summary);

export function quotasRoutes(s: { quotas: QuotasService; tenants: TenantsService; usage: UsageService; sandbox: SandboxService }) {
  return new Elysia()
    .get("/tenants/:id/quota", ({ params, request }) => s.quotas.status(adminOf(request).tenant(params.id)), {
      params: Id,
      ...doc("tenants", "tenants.getQuota", "A tenant's quota limits, today's usage against them and what remains"),
    })
    .patch(
      "/tenants/:id/quota",
      ({ params, body, request }) => {
        const admin = adminOf(request);
        return s.tenants.setQuota(admin.tenant(params.id), body, admin);
      },
      { params: Id, body: QuotaPatchSchema, response: QuotaViewSchema, ...doc("tenants", "tenants.setQuota", 'Set quota fields: a number, null for unlimited, or "default" to inherit') },
    )
    // Usage and quota status together: where the two meet.
    .get(
      "/tenants/:id/usage",
      ({ params, query, request }) => {
        const tenant = adminOf(request).tenant(params.id);
        return { ...s.usage.summary(tenant), sandbox: s.sandbox.usage(tenant), quota: s.quotas.status(tenant), days: s.usage.history({ tenant, ...query }) };
      },
      { params: Id, query: UsageRange, ...doc("usage", "tenants.getUsage", "A tenant's usage: today, this month, per model, per day, and quota status") },
    );
}
