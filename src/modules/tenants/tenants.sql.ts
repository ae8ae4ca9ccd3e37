import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

// `incarnation` is minted at create (and at restore --as): the tenant's rows elsewhere (usage, sandbox
// runs, backups) carry it, so a later tenant that reuses the id never sees a previous owner's rows.
export const TenantTable = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  incarnation: text("incarnation").notNull(),
  displayName: text("display_name"),
  status: text("status", { enum: ["active", "suspended"] }).notNull().default("active"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  suspendedAt: integer("suspended_at"),
});

export type TenantRow = typeof TenantTable.$inferSelect;
