import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

// Web console sign-ins (cookie sessions). The id is the SHA-256 (hex) of the cookie's value; the value
// itself is never stored. A tenant session is bound to the token it signed in with (actor_id, "tok:…")
// and the tenant's incarnation; an admin session (tenant_id NULL) to the admin key's actor id ("adm:…").
// Declared as tenant data that is NOT backed up: deleted with the tenant, never resurrected by a restore.
export const ConsoleSessionsTable = sqliteTable(
  "console_sessions",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: ["tenant", "admin"] }).notNull(),
    tenantId: text("tenant_id"),
    incarnation: text("incarnation"),
    actorId: text("actor_id").notNull(),
    csrfToken: text("csrf_token").notNull(),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("console_sessions_owner_idx").on(t.kind, t.tenantId, t.createdAt)],
);
