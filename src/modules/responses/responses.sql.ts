import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

// Stored responses (POST /v1/responses with `store` not false): what GET, DELETE, input_items and a
// later `previous_response_id` read. Tenant-local: keyed by tenant, backed up, restored and deleted
// with it; a row past `expires_at` (the retention setting) is never read and is swept.
export const StoredResponsesTable = sqliteTable(
  "stored_responses",
  {
    tenantId: text("tenant_id").notNull(),
    id: text("id").notNull(),
    previousId: text("previous_id"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    /** Bytes of `response` and `inputItems`: what the per-tenant byte cap counts. */
    bytes: integer("bytes").notNull(),
    /** The Response object as answered (JSON). */
    response: text("response").notNull(),
    /** This request's input items, normalized, with ids (JSON array). */
    inputItems: text("input_items").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index("stored_responses_expiry_idx").on(t.tenantId, t.expiresAt)],
);
