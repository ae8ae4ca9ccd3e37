import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const TenantTable = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  displayName: text("display_name"),
  status: text("status", { enum: ["active", "suspended"] }).notNull().default("active"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  suspendedAt: integer("suspended_at"),
});

export type TenantRow = typeof TenantTable.$inferSelect;
