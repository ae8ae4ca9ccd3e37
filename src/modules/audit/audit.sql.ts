import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

// A copy of every audit record, committed in the same transaction as the change it records. It anchors
// the file (an edited-and-rechained or truncated log no longer matches), answers admin queries, and
// supplies the lines to replay after a copytruncate rotation.
export const AuditEventTable = sqliteTable(
  "audit_events",
  {
    seq: integer("seq").primaryKey(),
    ts: integer("ts").notNull(),
    hash: text("hash").notNull(),
    action: text("action").notNull(),
    actorKind: text("actor_kind").notNull(),
    actorId: text("actor_id").notNull(),
    tenantId: text("tenant_id"),
    targetType: text("target_type"),
    targetId: text("target_id"),
    outcome: text("outcome").notNull(),
    requestId: text("request_id").notNull(),
    line: text("line").notNull(),
  },
  (t) => [
    index("audit_events_ts_idx").on(t.ts),
    index("audit_events_tenant_idx").on(t.tenantId, t.seq),
    index("audit_events_action_idx").on(t.action, t.seq),
  ],
);

/** Where the live log file was when we last appended to it (detects rotation and truncation). */
export const AuditFileTable = sqliteTable("audit_file", {
  id: integer("id").primaryKey(),
  path: text("path").notNull(),
  dev: integer("dev").notNull(),
  ino: integer("ino").notNull(),
  size: integer("size").notNull(),
  updatedAt: integer("updated_at").notNull(),
});
