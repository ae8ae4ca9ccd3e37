import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

// One row per completed backup: where it went, what it holds, and its digest, so an operator can list,
// verify and prune a tenant's backups. A backup that failed leaves no row (only an audit record).
export const BackupTable = sqliteTable(
  "backups",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    /** The tenant's incarnation at backup time: a later tenant of the same id never sees the record. */
    incarnation: text("incarnation").notNull(),
    /** `s3://bucket/key` or an absolute file path. */
    location: text("location").notNull(),
    /** Archive bytes as stored (compressed, and encrypted when `encrypted`). */
    sizeBytes: integer("size_bytes").notNull(),
    /** SHA-256 (hex) of the stored archive bytes. */
    sha256: text("sha256").notNull(),
    encrypted: integer("encrypted", { mode: "boolean" }).notNull(),
    files: integer("files").notNull(),
    /** Bytes of tenant files before compression. */
    contentBytes: integer("content_bytes").notNull(),
    formatVersion: integer("format_version").notNull(),
    gatewayVersion: text("gateway_version").notNull(),
    /** "admin", "operator" or "tenant": who asked for it. */
    origin: text("origin").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("backups_tenant_time_idx").on(t.tenantId, t.createdAt)],
);

export type BackupRow = typeof BackupTable.$inferSelect;
