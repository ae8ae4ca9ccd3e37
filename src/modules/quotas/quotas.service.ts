// A tenant's quota status: its limits (the tenant's record) with today's usage and reservations
// against them (the quota engine's account), what remains, and when the day resets.
import type { TenantScope } from "../../edge/tenant-scope.ts";
import type { TenantsService } from "../tenants/tenants.service.ts";
import type { QuotaEngine } from "./quota-engine.ts";

export function createQuotasService(deps: { tenants: TenantsService; engine: QuotaEngine }) {
  return {
    /** Limits, where they come from, today's usage and what remains. */
    status(tenant: TenantScope) {
      return { ...deps.tenants.quotaLimits(tenant), usage: deps.engine.snapshot(tenant) };
    },
  };
}

export type QuotasService = ReturnType<typeof createQuotasService>;
