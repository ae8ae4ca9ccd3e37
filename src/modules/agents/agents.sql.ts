import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

// A tenant's sessions: the index over its transcripts (tenants/<id>/sessions/<sessionId>.jsonl). The
// key is the client's name for the session; the session id (and so the file name) is the gateway's
// and changes at every reset. Rows go with their tenant (backed up, restored, deleted with it).
export const AgentSessionsTable = sqliteTable(
  "agent_sessions",
  {
    tenantId: text("tenant_id").notNull(),
    key: text("key").notNull(),
    sessionId: text("session_id").notNull(),
    agentId: text("agent_id").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    entries: integer("entries").notNull().default(0),
    bytes: integer("bytes").notNull().default(0),
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
    costMicroUsd: integer("cost_micro_usd").notNull().default(0),
    runs: integer("runs").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key] }), index("agent_sessions_updated_idx").on(t.tenantId, t.updatedAt)],
);

// Agent runs: one turn of a session. Kept for chat.wait, idempotent retries, and crash recovery (a row
// still `running` at start-up was interrupted and is marked aborted, with a transcript entry).
export const AgentRunsTable = sqliteTable(
  "agent_runs",
  {
    tenantId: text("tenant_id").notNull(),
    id: text("id").notNull(),
    sessionKey: text("session_key").notNull(),
    sessionId: text("session_id").notNull(),
    agentId: text("agent_id").notNull(),
    idempotencyKey: text("idempotency_key"),
    status: text("status", { enum: ["running", "ok", "error", "aborted"] }).notNull(),
    stopReason: text("stop_reason"),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    text: text("text"),
    steps: integer("steps").notNull().default(0),
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
    costMicroUsd: integer("cost_micro_usd").notNull().default(0),
    startedAt: integer("started_at").notNull(),
    endedAt: integer("ended_at"),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index("agent_runs_idem_idx").on(t.tenantId, t.sessionKey, t.idempotencyKey),
    index("agent_runs_status_idx").on(t.status),
  ],
);
