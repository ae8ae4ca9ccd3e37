import { blob, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { TenantTable } from "./tenants.sql.ts";

// One row per live token: the current one (expires_at NULL) and any still in a rotation grace window.
export const TenantTokenTable = sqliteTable(
  "tenant_tokens",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => TenantTable.id, { onDelete: "cascade" }),
    /** SHA-256 of the whole token, 32 bytes. */
    hash: blob("hash", { mode: "buffer" }).notNull(),
    /** e.g. "ocmu_acme_AbC1…": enough to recognise a token, useless to use one. */
    displayPrefix: text("display_prefix").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at"),
  },
  (t) => [index("tenant_tokens_tenant_idx").on(t.tenantId)],
);
