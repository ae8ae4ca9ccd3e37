// Channels: a tenant's own chat-platform accounts (Telegram, Slack, WhatsApp, Discord, signed
// webhooks), paired by the tenant, each with an opaque webhook path; inbound messages become agent
// runs in sessions keyed by channel and conversation, answers go back through the platform's API.
// Accounts, known senders and the inbox are tenant rows (backed up, restored, deleted with the
// tenant); credentials are sealed with gateway.channels.secretKey.
import { admissionModule } from "../admission/admission.module.ts";
import { agentsModule } from "../agents/agents.module.ts";
import { auditModule } from "../audit/audit.module.ts";
import { eventsModule } from "../events/events.module.ts";
import { defineModule } from "../module.ts";
import { tenantsModule } from "../tenants/tenants.module.ts";
import { channelsAdminRoutes } from "./channels.admin.ts";
import { channelsCli } from "./channels.cli.ts";
import { channelOwnerScope } from "./channels.identity.ts";
import { channelsRoutes } from "./channels.routes.ts";
import { channelsRpc } from "./channels.rpc.ts";
import { createChannelsService } from "./channels.service.ts";
import { createChannelStore, type AccountRow } from "./channels.store.ts";
import type { ChannelOptions } from "./channels.types.ts";
import { createDispatcher } from "./dispatch.ts";
import { createIngest } from "./ingest.ts";
import { kindOf } from "./kinds/index.ts";
import type { ChannelKindName, InboundMessage, PlatformApi, ReplyTarget } from "./kinds/kind.ts";
import { platformApi, sendWithRetries, type OutboundDeps } from "./outbound.ts";
import { createPolicy } from "./policy.ts";
import { createPollers } from "./polling.ts";
import { createRegistry, newHookId } from "./registry.ts";
import type { Row } from "../../db/tenant-rows.ts";
import { WRONG_KEY_MESSAGE } from "./secrets.ts";

/**
 * A channel restored as a copy under another tenant id (--as) gets a path of its own (hook ids are
 * unique over all tenants) and shows an error: its credentials are sealed to the original tenant.
 */
function restoreAccountRow(row: Row, o: { copy: boolean }): undefined {
  if (!o.copy) return;
  row.hook_id = newHookId();
  row.status = "error";
  row.last_error = COPY_MESSAGE;
  row.poll_offset = null;
}

export const COPY_MESSAGE = "restored as a copy under another tenant id: its credentials are bound to the original tenant; pair it again";

/** How often the gateway looks for polling channels without a loop (paired by another process). */
export const POLLERS_SYNC_MS = 5_000;

/** Inbox records kept per channel (older ones, and any older than a day past the replay window, pruned). */
export const INBOX_KEPT_PER_CHANNEL = 1000;

export const channelsModule = defineModule({
  name: "channels",
  needs: [auditModule, tenantsModule, eventsModule, admissionModule, agentsModule],
  create(platform, { audit, tenants, events, admission, runs, sessions }) {
    const store = createChannelStore(platform.handle.sqlite);
    const config = platform.config;
    const now = () => platform.clock.now();
    const tenantState = { incarnation: (id: string) => tenants.incarnation(id), isActive: (id: string) => tenants.isActive(id), watch: (work: { tenantId: string; incarnation: string }) => tenants.watchWork(work) };
    const secretKey = () => config().gateway.channels.secretKey;
    const registry = createRegistry({ store, secretKey });
    const outbound: OutboundDeps = { config };
    const api = (kind: string, options: ChannelOptions): PlatformApi => platformApi(outbound, kind as ChannelKindName, options);
    const send = (row: AccountRow, a: PlatformApi, to: ReplyTarget, text: string, signal: AbortSignal) => {
      const kind = kindOf(row.kind);
      const secrets = registry.secretsOf(row);
      if (!kind || !secrets) return Promise.reject(new Error(WRONG_KEY_MESSAGE));
      return sendWithRetries(kind, a, secrets, to, text, config().gateway.channels.sendRetries, signal);
    };
    const policy = createPolicy({ store, secretKey, limits: () => ({ ttlMs: config().gateway.channels.pairingCodeTtlSeconds * 1000, maxPending: config().gateway.channels.maxPendingCodesPerChannel }) });
    const dispatcher = createDispatcher({ store, registry, runs, sessions, events, tenants: tenantState, log: platform.log, spendChange: (tenantId, method) => admission.spendChange(tenantId, method), now, limits: () => config().gateway.channels, api, send });
    const notify = (acc: AccountRow, msg: InboundMessage, text: string) => {
      let a: PlatformApi;
      try {
        a = api(acc.kind, JSON.parse(acc.options) as ChannelOptions);
      } catch {
        return;
      }
      const to = { chatId: msg.chat.id, ...(msg.chat.threadId ? { threadId: msg.chat.threadId } : {}), peerId: msg.peerId, ...(msg.replyContext ? { replyContext: msg.replyContext } : {}) };
      // Tracked by the dispatcher: an unpair or the tenant's stop (here or by another process) ends it.
      dispatcher.background(acc.tenantId, acc.id, (signal) =>
        send(acc, a, to, text, AbortSignal.any([signal, AbortSignal.timeout(60_000)])).catch((err) => {
          if (!signal.aborted) platform.log.warn("channel notice not delivered", { tenant: acc.tenantId, channel: acc.id, error: String(err).slice(0, 200) });
        }),
      );
    };
    const sqlite = platform.handle.sqlite;
    const pruneChannel = (tenantId: string, channelId: string) => store.pruneInbox.run(tenantId, channelId, INBOX_KEPT_PER_CHANNEL, now() - (config().gateway.channels.replayWindowSeconds + 86_400) * 1000);
    const ingest = createIngest({ prune: pruneChannel, keptPerChannel: INBOX_KEPT_PER_CHANNEL, store, registry, policy, dispatcher, events, tenants: tenantState, config, now, notify, transaction: (fn) => sqlite.transaction(fn)() });
    const pollers = createPollers({ store, registry, log: platform.log, now, isActive: tenantState.isActive, api, accept: ingest.accept });
    const channels = createChannelsService({ store, registry, policy, dispatcher, audit, clock: platform.clock, config, api, send, pollers });

    /** Channels whose secrets this gateway's key cannot open (a restore from another gateway) show it. */
    const checkSecrets = (tenantId: string | null) => {
      const rows = (tenantId === null ? store.allAccounts.all() : store.accountsOf.all(tenantId)) as AccountRow[];
      for (const r of rows) {
        if (r.lastError === COPY_MESSAGE) continue;
        const ok = registry.secretsOf(r) !== null;
        if (!ok && (r.status !== "error" || r.lastError !== WRONG_KEY_MESSAGE)) store.setStatus.run(r.tenantId, r.id, "error", WRONG_KEY_MESSAGE, now());
        else if (ok && r.status === "error" && r.lastError === WRONG_KEY_MESSAGE) store.setStatus.run(r.tenantId, r.id, "active", null, now());
      }
    };
    const prune = () => {
      for (const r of store.allAccounts.all() as AccountRow[]) pruneChannel(r.tenantId, r.id);
    };
    registry.load();
    return {
      channels,
      /** The running parts, for the module's hooks, the webhook route, tests and the benchmark. */
      channelsEngine: { store, registry, ingest, dispatcher, pollers, policy, outbound, config, now, checkSecrets, prune, ownerScope: channelOwnerScope },
    };
  },
}).with({
  console: { pages: [{ id: "channels", title: "Channels", face: "tenant", order: 70 }] },
  routes: channelsRoutes,
  admin: channelsAdminRoutes,
  rpc: channelsRpc,
  cli: channelsCli,
  tenantData: {
    tables: [
      { table: "channel_accounts", tenantColumn: "tenant_id", restoreRow: restoreAccountRow },
      { table: "channel_peers", tenantColumn: "tenant_id" },
      { table: "channel_inbox", tenantColumn: "tenant_id" },
    ],
    onDelete: ({ channelsEngine }, tenant) => {
      channelsEngine.pollers.stop(tenant.tenantId);
      channelsEngine.registry.reloadTenant(tenant.tenantId);
    },
    // Restored rows replace the tenant's: new paths in the map, secrets checked against this gateway's
    // key, and messages that were waiting when the backup was taken are not answered now.
    onRestore: ({ channelsEngine }, tenant) => {
      channelsEngine.registry.reloadTenant(tenant.tenantId);
      channelsEngine.checkSecrets(tenant.tenantId);
      for (const r of channelsEngine.store.open.all(tenant.tenantId) as { tenantId: string; channelId: string; deliveryId: string }[]) {
        channelsEngine.store.setInbox.run(r.tenantId, r.channelId, r.deliveryId, "dropped", "restored from a backup", null);
      }
      channelsEngine.pollers.startAll(tenant.tenantId);
    },
    onStop: ({ channelsEngine }, stop) => {
      // A suspended tenant's pollers idle until it is resumed (no updates are taken meanwhile).
      if (stop.reason === "deleted" || stop.reason === "replaced") channelsEngine.pollers.stop(stop.tenantId);
      // A revoked token ends the runs it started; channel runs act as the system, not as a token.
      if (stop.reason === "token-revoked") return null;
      return channelsEngine.dispatcher.stopTenant(stop.tenantId);
    },
  },
  start({ channelsEngine }) {
    channelsEngine.dispatcher.reopen();
    channelsEngine.registry.load();
    channelsEngine.checkSecrets(null);
    channelsEngine.prune();
    // Messages recorded but not answered before a stop or crash: dispatched again (the same agent run).
    channelsEngine.dispatcher.recover(null);
    channelsEngine.pollers.startAll(null);
    const pruning = setInterval(() => channelsEngine.prune(), 3_600_000);
    // A polling channel paired (or restored, or its tenant resumed) by another process — the CLI on the
    // same home — gets its loop here within POLLERS_SYNC_MS: the loops live in this process only.
    const syncing = setInterval(() => channelsEngine.pollers.startAll(null), POLLERS_SYNC_MS);
    return {
      async stop() {
        clearInterval(pruning);
        clearInterval(syncing);
        channelsEngine.pollers.stopAll();
        await channelsEngine.dispatcher.stopAll();
      },
    };
  },
  close: ({ channelsEngine }) => channelsEngine.pollers.stopAll(),
});
