// The channel tables' prepared statements. Every read and write a tenant's call makes is keyed by its
// tenant id: a channel id alone never finds a row (another tenant's channel is "not found"). The only
// look-up by hook id is the webhook route's, which learns the owner from the row.
import type { Database } from "bun:sqlite";

export interface AccountRow {
  tenantId: string;
  id: string;
  hookId: string;
  kind: string;
  name: string;
  options: string;
  secretsEnc: string;
  masked: string;
  facts: string;
  status: "active" | "error";
  lastError: string | null;
  pollOffset: number | null;
  highestUpdate: number | null;
  received: number;
  replied: number;
  failed: number;
  dropped: number;
  replays: number;
  createdAt: number;
  updatedAt: number;
}

export interface InboxRow {
  tenantId: string;
  channelId: string;
  deliveryId: string;
  peerId: string;
  chatId: string;
  threadId: string | null;
  sessionKey: string;
  message: string | null;
  replyContext: string | null;
  runId: string | null;
  status: "queued" | "running" | "replied" | "failed" | "dropped";
  error: string | null;
  receivedAt: number;
}

const ACC =
  "tenant_id AS tenantId, id, hook_id AS hookId, kind, name, options, secrets_enc AS secretsEnc, masked, facts, status, last_error AS lastError, poll_offset AS pollOffset, highest_update AS highestUpdate, received, replied, failed, dropped, replays, created_at AS createdAt, updated_at AS updatedAt";
const INBOX =
  "tenant_id AS tenantId, channel_id AS channelId, delivery_id AS deliveryId, peer_id AS peerId, chat_id AS chatId, thread_id AS threadId, session_key AS sessionKey, message, reply_context AS replyContext, run_id AS runId, status, error, received_at AS receivedAt";

export function createChannelStore(sqlite: Database) {
  const p = (s: string) => sqlite.prepare(s);
  return {
    account: p(`SELECT ${ACC} FROM channel_accounts WHERE tenant_id = ?1 AND id = ?2`),
    /** The channel a webhook path names (hook_id is unique over all tenants). */
    accountByHook: p(`SELECT ${ACC} FROM channel_accounts WHERE hook_id = ?1`),
    accountsOf: p(`SELECT ${ACC} FROM channel_accounts WHERE tenant_id = ?1 ORDER BY created_at, id`),
    allAccounts: p(`SELECT ${ACC} FROM channel_accounts`),
    countOf: p("SELECT count(*) AS n FROM channel_accounts WHERE tenant_id = ?1"),
    insertAccount: p(
      "INSERT INTO channel_accounts (tenant_id, id, hook_id, kind, name, options, secrets_enc, masked, facts, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'active', ?10, ?10)",
    ),
    deleteAccount: p("DELETE FROM channel_accounts WHERE tenant_id = ?1 AND id = ?2"),
    deletePeersOf: p("DELETE FROM channel_peers WHERE tenant_id = ?1 AND channel_id = ?2"),
    deleteInboxOf: p("DELETE FROM channel_inbox WHERE tenant_id = ?1 AND channel_id = ?2"),
    setStatus: p("UPDATE channel_accounts SET status = ?3, last_error = ?4, updated_at = ?5 WHERE tenant_id = ?1 AND id = ?2"),
    setLastError: p("UPDATE channel_accounts SET last_error = ?3, updated_at = ?4 WHERE tenant_id = ?1 AND id = ?2"),
    setPollOffset: p("UPDATE channel_accounts SET poll_offset = ?3 WHERE tenant_id = ?1 AND id = ?2"),
    setHighest: p("UPDATE channel_accounts SET highest_update = max(coalesce(highest_update, 0), ?3) WHERE tenant_id = ?1 AND id = ?2"),
    /** Counters: ?3 received, ?4 replied, ?5 failed, ?6 dropped, ?7 replays. */
    count: p("UPDATE channel_accounts SET received = received + ?3, replied = replied + ?4, failed = failed + ?5, dropped = dropped + ?6, replays = replays + ?7 WHERE tenant_id = ?1 AND id = ?2"),

    peer: p("SELECT peer_id AS peerId, peer_name AS peerName, state, code_hash AS codeHash, expires_at AS expiresAt FROM channel_peers WHERE tenant_id = ?1 AND channel_id = ?2 AND peer_id = ?3"),
    pendingOf: p("SELECT peer_id AS peerId, peer_name AS peerName, expires_at AS expiresAt FROM channel_peers WHERE tenant_id = ?1 AND channel_id = ?2 AND state = 'pending' AND expires_at > ?3 ORDER BY created_at LIMIT 100"),
    countPending: p("SELECT count(*) AS n FROM channel_peers WHERE tenant_id = ?1 AND channel_id = ?2 AND state = 'pending' AND expires_at > ?3"),
    pruneExpired: p("DELETE FROM channel_peers WHERE tenant_id = ?1 AND channel_id = ?2 AND state = 'pending' AND expires_at <= ?3"),
    upsertPending: p(
      "INSERT INTO channel_peers (tenant_id, channel_id, peer_id, peer_name, state, code_hash, expires_at, created_at) VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7) ON CONFLICT (tenant_id, channel_id, peer_id) DO UPDATE SET peer_name = excluded.peer_name, code_hash = excluded.code_hash, expires_at = excluded.expires_at, created_at = excluded.created_at WHERE state = 'pending'",
    ),
    byCode: p("SELECT peer_id AS peerId, peer_name AS peerName FROM channel_peers WHERE tenant_id = ?1 AND channel_id = ?2 AND state = 'pending' AND code_hash = ?3 AND expires_at > ?4"),
    allow: p("UPDATE channel_peers SET state = 'allowed', code_hash = NULL, expires_at = NULL WHERE tenant_id = ?1 AND channel_id = ?2 AND peer_id = ?3"),

    /** INSERT OR IGNORE: a delivery id already recorded on the channel is a replay (changes = 0). */
    insertInbox: p(
      "INSERT OR IGNORE INTO channel_inbox (tenant_id, channel_id, delivery_id, peer_id, chat_id, thread_id, session_key, message, reply_context, status, error, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    ),
    inbox: p(`SELECT ${INBOX} FROM channel_inbox WHERE tenant_id = ?1 AND channel_id = ?2 AND delivery_id = ?3`),
    setInbox: p("UPDATE channel_inbox SET status = ?4, error = ?5, run_id = coalesce(?6, run_id), message = CASE WHEN ?4 IN ('replied', 'failed', 'dropped') THEN NULL ELSE message END WHERE tenant_id = ?1 AND channel_id = ?2 AND delivery_id = ?3"),
    open: p(`SELECT ${INBOX} FROM channel_inbox WHERE status IN ('queued', 'running') AND (?1 IS NULL OR tenant_id = ?1) ORDER BY received_at`),
    queuedOf: p("SELECT count(*) AS n FROM channel_inbox WHERE tenant_id = ?1 AND channel_id = ?2 AND status IN ('queued', 'running')"),
    /** The channel's newest ?3 records kept, and any older than ?4 gone (open ones never). */
    /** What the inbox still covers: its settled rows and the oldest of them (pruning removes only older ones). */
    inboxSpan: p("SELECT count(*) AS n, min(received_at) AS oldest FROM channel_inbox WHERE tenant_id = ?1 AND channel_id = ?2 AND status NOT IN ('queued', 'running')"),
    pruneInbox: p(
      "DELETE FROM channel_inbox WHERE tenant_id = ?1 AND channel_id = ?2 AND status NOT IN ('queued', 'running') AND (received_at < ?4 OR delivery_id IN (SELECT delivery_id FROM channel_inbox WHERE tenant_id = ?1 AND channel_id = ?2 AND status NOT IN ('queued', 'running') ORDER BY received_at DESC LIMIT -1 OFFSET ?3))",
    ),
  };
}

export type ChannelStore = ReturnType<typeof createChannelStore>;
