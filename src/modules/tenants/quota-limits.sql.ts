import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { TenantTable } from "./tenants.sql.ts";

// Per-tenant quota overrides. NULL = inherit the gateway default; -1 = unlimited.
export const TenantQuotaTable = sqliteTable("tenant_quotas", {
  tenantId: text("tenant_id")
    .primaryKey()
    .references(() => TenantTable.id, { onDelete: "cascade" }),
  tokensPerDay: integer("tokens_per_day"),
  costPerDayMicroUsd: integer("cost_per_day_micro_usd"),
  requestsPerMinute: integer("requests_per_minute"),
  maxConcurrent: integer("max_concurrent"),
  updatedAt: integer("updated_at").notNull(),
});

export type TenantQuotaRow = typeof TenantQuotaTable.$inferSelect;
