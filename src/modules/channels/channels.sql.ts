import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

// A tenant's paired channel accounts. hook_id is the opaque path id of its webhook
// (/channels/<kind>/<hook_id>): 32 random bytes, never derived from the tenant or the channel id, unique
// over all tenants. secrets_enc is the credentials sealed by secrets.ts (never returned by any API);
// masked and facts are what list and status show (a secret's last characters, the bot's name).
export const ChannelAccountsTable = sqliteTable(
  "channel_accounts",
  {
    tenantId: text("tenant_id").notNull(),
    id: text("id").notNull(),
    hookId: text("hook_id").notNull(),
    kind: text("kind").notNull(),
    name: text("name").notNull(),
    options: text("options").notNull(),
    secretsEnc: text("secrets_enc").notNull(),
    masked: text("masked").notNull(),
    facts: text("facts").notNull(),
    status: text("status", { enum: ["active", "error"] }).notNull(),
    lastError: text("last_error"),
    pollOffset: integer("poll_offset"),
    highestUpdate: integer("highest_update"),
    received: integer("received").notNull().default(0),
    replied: integer("replied").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    dropped: integer("dropped").notNull().default(0),
    replays: integer("replays").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), uniqueIndex("channel_accounts_hook_idx").on(t.hookId)],
);

// The senders a channel knows: allowed (approved, or in allowFrom), or pending with a pairing code
// (stored hashed) that expires.
export const ChannelPeersTable = sqliteTable(
  "channel_peers",
  {
    tenantId: text("tenant_id").notNull(),
    channelId: text("channel_id").notNull(),
    peerId: text("peer_id").notNull(),
    peerName: text("peer_name"),
    state: text("state", { enum: ["allowed", "pending"] }).notNull(),
    codeHash: text("code_hash"),
    expiresAt: integer("expires_at"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.channelId, t.peerId] })],
);

// Every inbound message, recorded before the delivery is acknowledged: the replay guard (a delivery id
// seen before on the channel is refused) and the no-loss record (queued and running rows are dispatched
// again after a restart; the agent run's idempotency key makes that exactly once).
export const ChannelInboxTable = sqliteTable(
  "channel_inbox",
  {
    tenantId: text("tenant_id").notNull(),
    channelId: text("channel_id").notNull(),
    deliveryId: text("delivery_id").notNull(),
    peerId: text("peer_id").notNull(),
    chatId: text("chat_id").notNull(),
    threadId: text("thread_id"),
    sessionKey: text("session_key").notNull(),
    message: text("message"),
    replyContext: text("reply_context"),
    runId: text("run_id"),
    status: text("status", { enum: ["queued", "running", "replied", "failed", "dropped"] }).notNull(),
    error: text("error"),
    receivedAt: integer("received_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.channelId, t.deliveryId] }),
    uniqueIndex("channel_inbox_delivery_idx").on(t.channelId, t.deliveryId),
    index("channel_inbox_open_idx").on(t.status).where(sql`${t.status} IN ('queued', 'running')`),
    index("channel_inbox_age_idx").on(t.tenantId, t.channelId, t.receivedAt),
  ],
);
