// A tenant's channels: pair (credentials checked by the kind and the platform, sealed at rest, a fresh
// opaque webhook path), unpair (gone at once: the path refuses, queued work is dropped), list, status,
// approve a pairing code, and deliver a text (cron). Every look-up is keyed by the caller's tenant: a
// channel of another tenant is the same NOT_FOUND as one that does not exist. Pair, unpair and approve
// are audited by channel id and kind — never a credential.
import type { GatewayConfig } from "../../config/schema.ts";
import { requireResolved } from "../../config/env-refs.ts";
import type { Clock } from "../../core/clock.ts";
import { AppError } from "../../core/errors.ts";
import type { OpContext } from "../../edge/actor.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import type { AuditLog } from "../audit/audit.service.ts";
import { checkName, checkOptions } from "./channel-input.ts";
import type { AccountRow, ChannelStore } from "./channels.store.ts";
import type { ChannelOptions, ChannelsApi, ChannelStatus, ChannelView } from "./channels.types.ts";
import type { Dispatcher } from "./dispatch.ts";
import { KIND_NAMES, kindOf } from "./kinds/index.ts";
import type { ChannelKind, ChannelKindName, ChannelSecrets, PlatformApi, ReplyTarget } from "./kinds/kind.ts";
import type { Policy } from "./policy.ts";
import { newChannelId, newHookId, type Registry } from "./registry.ts";
import { maskSecret, requireKey, sealSecrets } from "./secrets.ts";
import { opAudit } from "../audit/audit.record.ts";

const notFound = () => new AppError("NOT_FOUND", "channel not found");

export interface ServiceDeps {
  store: ChannelStore;
  registry: Registry;
  policy: Policy;
  dispatcher: Dispatcher;
  audit: AuditLog;
  clock: Clock;
  config(): GatewayConfig;
  api(kind: string, options: ChannelOptions): PlatformApi;
  send(row: AccountRow, api: PlatformApi, to: ReplyTarget, text: string, signal: AbortSignal): Promise<void>;
  pollers: { start(row: AccountRow): void; stop(tenantId: string, channelId?: string): void };
}

export function createChannelsService(deps: ServiceDeps): ChannelsApi & { rowOf(tenant: TenantScope, id: unknown): AccountRow } {
  const { store, clock } = deps;

  const rowOf = (tenant: TenantScope, id: unknown): AccountRow => {
    if (typeof id !== "string" || id.length === 0 || id.length > 64) throw notFound();
    const r = store.account.get(tenant.tenantId, id) as AccountRow | null;
    if (!r) throw notFound();
    return r;
  };

  const pathOf = (r: Pick<AccountRow, "kind" | "hookId">) => `/channels/${r.kind}/${r.hookId}`;
  const urlOf = (path: string) => {
    const base = deps.config().gateway.channels.publicBaseUrl;
    return base ? `${base.replace(/\/+$/, "")}${path}` : null;
  };

  const view = (r: AccountRow): ChannelView => {
    const options = JSON.parse(r.options) as ChannelOptions;
    const polling = options.mode === "polling";
    return {
      id: r.id,
      kind: r.kind as ChannelKindName,
      name: r.name,
      status: r.status,
      lastError: r.lastError,
      options,
      masked: JSON.parse(r.masked) as Record<string, string>,
      facts: JSON.parse(r.facts) as Record<string, string>,
      webhookPath: pathOf(r),
      webhookUrl: polling ? null : urlOf(pathOf(r)),
      createdAtMs: r.createdAt,
      updatedAtMs: r.updatedAt,
    };
  };

  const entry = (tenant: TenantScope, ctx: OpContext, action: string, id: string, details?: Record<string, unknown>) => opAudit(ctx, action, { type: "channel", id }, tenant.tenantId, details);

  const kindFor = (name: unknown): ChannelKind => {
    const c = deps.config().gateway.channels;
    if (typeof name !== "string" || !(KIND_NAMES as readonly string[]).includes(name)) throw new AppError("INVALID_PARAMS", `kind must be one of ${KIND_NAMES.join(", ")}`);
    const kind = kindOf(name);
    if (!kind) throw new AppError("INVALID_PARAMS", `kind "${name}" is not available in this gateway`);
    if (!c.enabled) throw new AppError("FORBIDDEN", "channels are turned off in this gateway (gateway.channels.enabled)");
    if (!c.kinds[kind.name].enabled) throw new AppError("FORBIDDEN", `the operator has not enabled ${name} channels (gateway.channels.kinds.${name}.enabled)`);
    return kind;
  };

  return {
    rowOf,

    async pair(tenant, input, op) {
      const kind = kindFor(input.kind);
      requireResolved(deps.config(), ["gateway", "channels", "secretKey"]);
      const key = requireKey(deps.config().gateway.channels.secretKey);
      const c = deps.config().gateway.channels;
      const name = checkName(input.name, kind.name);
      const options = checkOptions(kind.name, input.options, c.kinds.webhook.callbackAllow);
      const { n } = store.countOf.get(tenant.tenantId) as { n: number };
      if (n >= c.maxChannelsPerTenant) throw new AppError("QUOTA_EXCEEDED", `the tenant has ${n} channels, the most it may have (gateway.channels.maxChannelsPerTenant = ${c.maxChannelsPerTenant}); unpair one first`);
      const { secrets, facts } = kind.validateCredentials(input.credentials);
      const id = newChannelId();
      const hookId = newHookId();
      const path = pathOf({ kind: kind.name, hookId });
      const polling = options.mode === "polling";
      const webhookUrl = polling ? null : urlOf(path);
      if (kind.name === "telegram" && !polling && !webhookUrl) throw new AppError("INVALID_PARAMS", 'gateway.channels.publicBaseUrl is not set, so Telegram cannot reach a webhook: pair with options.mode "polling"');
      const extra = kind.onPair ? await kind.onPair(deps.api(kind.name, options), secrets, webhookUrl) : {};
      const masked = Object.fromEntries(kind.maskedFields.filter((f) => secrets[f]).map((f) => [f, maskSecret(secrets[f]!)]));
      const now = clock.now();
      deps.audit.transact(entry(tenant, op, "channel.pair", id, { kind: kind.name, name }), () => {
        const { n: now_n } = store.countOf.get(tenant.tenantId) as { n: number };
        if (now_n >= c.maxChannelsPerTenant) throw new AppError("QUOTA_EXCEEDED", `the tenant has ${now_n} channels, the most it may have (gateway.channels.maxChannelsPerTenant = ${c.maxChannelsPerTenant}); unpair one first`);
        const sealed = sealSecrets(key, { tenantId: tenant.tenantId, channelId: id, kind: kind.name }, secrets);
        store.insertAccount.run(tenant.tenantId, id, hookId, kind.name, name, JSON.stringify(options), sealed, JSON.stringify(masked), JSON.stringify({ ...facts, ...extra }), now);
      });
      const row = rowOf(tenant, id);
      if (polling) deps.pollers.start(row);
      const generated = kind.name === "webhook" && (input.credentials as { secret?: unknown } | undefined)?.secret === undefined;
      return { channel: view(row), webhookUrl, webhookPath: path, ...(generated ? { signingKey: secrets.secret! } : {}) };
    },

    async unpair(tenant, channelId, op) {
      let gone: AccountRow | null = null;
      deps.audit.transact(entry(tenant, op, "channel.unpair", String(channelId).slice(0, 64)), () => {
        const r = rowOf(tenant, channelId);
        store.deleteAccount.run(tenant.tenantId, r.id);
        store.deletePeersOf.run(tenant.tenantId, r.id);
        store.deleteInboxOf.run(tenant.tenantId, r.id);
        gone = r;
      });
      const r = gone as unknown as AccountRow;
      const secrets = deps.registry.secretsOf(r);
      // Off the path at once: a delivery in flight now gets the identical refusal.
      deps.registry.remove(tenant.tenantId, r.id);
      deps.dispatcher.cancelChannel(tenant.tenantId, r.id);
      deps.pollers.stop(tenant.tenantId, r.id);
      const kind = kindOf(r.kind);
      if (kind?.onUnpair && secrets) {
        try {
          await Promise.race([kind.onUnpair(deps.api(r.kind, JSON.parse(r.options) as ChannelOptions), secrets), Bun.sleep(5000)]);
        } catch {
          // best effort: the platform may already have forgotten the bot
        }
      }
      return { unpaired: true, id: r.id };
    },

    list(tenant) {
      return { channels: (store.accountsOf.all(tenant.tenantId) as AccountRow[]).map(view) };
    },

    status(tenant, channelId) {
      const rows = channelId === undefined ? (store.accountsOf.all(tenant.tenantId) as AccountRow[]) : [rowOf(tenant, channelId)];
      const now = clock.now();
      return {
        channels: rows.map(
          (r): ChannelStatus => ({
            id: r.id,
            kind: r.kind as ChannelKindName,
            name: r.name,
            status: r.status,
            lastError: r.lastError,
            counters: { received: r.received, replied: r.replied, failed: r.failed, dropped: r.dropped, replays: r.replays },
            queued: (store.queuedOf.get(tenant.tenantId, r.id) as { n: number }).n,
            pendingPeers: (store.pendingOf.all(tenant.tenantId, r.id, now) as { peerId: string; peerName: string | null; expiresAt: number }[]).map((p) => ({ peerId: p.peerId, peerName: p.peerName, expiresAtMs: p.expiresAt })),
          }),
        ),
      };
    },

    approve(tenant, channelId, code, op) {
      const r = rowOf(tenant, channelId);
      let peerId: string | null = null;
      deps.audit.transact(
        () => ({ ...entry(tenant, op, "channel.approve", r.id, peerId ? { peerId } : { reason: "pairing code not found" }), ...(peerId ? {} : { outcome: "denied" as const }) }),
        () => {
          peerId = typeof code === "string" && code.length <= 32 ? (deps.policy.approve(tenant.tenantId, r.id, code, clock.now())?.peerId ?? null) : null;
        },
      );
      // A wrong code is recorded too (as a failed attempt: codes are guessed one call at a time).
      if (!peerId) throw new AppError("NOT_FOUND", "pairing code not found (wrong, already used or expired)");
      return { approved: true, channelId: r.id, peerId };
    },

    async deliver(tenant, channelId, to, text) {
      const r = rowOf(tenant, channelId);
      const kind = kindOf(r.kind);
      const secrets: ChannelSecrets | null = deps.registry.secretsOf(r);
      if (!kind || !secrets) throw new AppError("CONFIG_INVALID", "the channel's secrets cannot be opened with this gateway's channels.secretKey");
      const api = deps.api(r.kind, JSON.parse(r.options) as ChannelOptions);
      await deps.send(r, api, { chatId: to, peerId: to }, text, AbortSignal.timeout(300_000));
    },
  };
}
