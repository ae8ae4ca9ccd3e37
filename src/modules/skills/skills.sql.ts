import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

// A tenant's skills and plugins as the gateway manages them: whether each is enabled and what was
// installed (when, by whom, the archive's digest). The packages themselves are files under
// tenants/<id>/skills/<name>/ and tenants/<id>/plugins/<name>/; a folder without a row (an
// operator's skill, or one restored without its row) is enabled. Rows go with their tenant.
export const ExtPackagesTable = sqliteTable(
  "ext_packages",
  {
    tenantId: text("tenant_id").notNull(),
    kind: text("kind").notNull(),
    name: text("name").notNull(),
    enabled: integer("enabled").notNull().default(1),
    installedAt: integer("installed_at"),
    installedBy: text("installed_by"),
    sha256: text("sha256"),
    bytes: integer("bytes"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.kind, t.name] })],
);
