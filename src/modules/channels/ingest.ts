// An inbound delivery, from the bytes to the queue. The signature is checked before any other work;
// every reason to refuse — an unknown hook id, the wrong kind, a disabled kind or module, a suspended
// tenant, secrets this gateway cannot open, a bad or missing signature, a stale timestamp, a body over
// the limit — gets ONE identical response (REFUSAL), and an unknown id costs what a known one does (a
// signature is checked against its kind's throwaway secrets, throwaway.ts). Then the kind's
// handshake, the parse (a signed but malformed body: 400, generic), and per message: the inbox row
// first (a delivery id seen before is a replay, counted and skipped), sender policy, rate limits, the
// queue; the acknowledgement last.
import type { GatewayConfig } from "../../config/schema.ts";
import { TokenBuckets } from "../../lib/token-bucket.ts";
import type { EventsService } from "../events/events.service.ts";
import { channelOwnerScope, type TenantState } from "./channels.identity.ts";
import type { AccountRow, ChannelStore } from "./channels.store.ts";
import type { ChannelOptions } from "./channels.types.ts";
import type { Dispatcher } from "./dispatch.ts";
import { kindOf } from "./kinds/index.ts";
import type { ChannelKind, DirectResponse, InboundMessage, InboundRequest } from "./kinds/kind.ts";
import type { Policy } from "./policy.ts";
import { showCode } from "./policy.ts";
import type { Registry } from "./registry.ts";
import { sessionKeyOf } from "./session-key.ts";
import { makeThrowawaySecrets } from "./throwaway.ts";

// 401, not 404: Discord's portal checks an interactions endpoint by sending invalid signatures and
// refuses to save one that does not answer 401; one refusal for every kind and reason keeps it identical.
export const REFUSAL: DirectResponse = { status: 401, body: '{"error":"unauthorized"}', contentType: "application/json" };
export const MALFORMED: DirectResponse = { status: 400, body: '{"error":"bad request"}', contentType: "application/json" };
/** Telegram update ids this far below the highest seen are refused as replays even once their inbox rows are pruned. */
export const UPDATE_ID_WINDOW = 100_000;
/** A channel's inbox is pruned after this many new rows, so a flood cannot grow it until the hourly prune. */
export const PRUNE_EVERY = 100;
/** The inbox is kept a day past the replay window: a message the platform dated more than a day ago is refused as a replay. */
export const REPLAY_HORIZON_MS = 86_400_000;
/** Allowance for a platform clock ahead of the gateway's when a message's date is compared with the inbox's receipt times. */
export const CLOCK_SKEW_MS = 30_000;

/** Made once at start: an unknown id's delivery is checked against its kind's throwaway secrets. */
const THROWAWAY = makeThrowawaySecrets();

export interface IngestDeps {
  store: ChannelStore;
  registry: Registry;
  policy: Policy;
  dispatcher: Dispatcher;
  events: EventsService;
  tenants: TenantState;
  config(): GatewayConfig;
  now(): number;
  /** Prunes a channel's old inbox rows (called every PRUNE_EVERY recorded messages of a channel). */
  prune(tenantId: string, channelId: string): void;
  /** The settled inbox rows a channel keeps at most (the prune keeps the newest this many). */
  keptPerChannel: number;
  /** Runs `fn` in one SQLite transaction (a delivery's rows are one commit). */
  transaction(fn: () => void): void;
  /** Sends a notice (a pairing code, a slow-down) to a sender, best effort. */
  notify(acc: AccountRow, msg: InboundMessage, text: string): void;
}

export function createIngest(deps: IngestDeps) {
  const { store } = deps;
  const buckets = new TokenBuckets();
  const noticed = new Map<string, number>();
  const sincePrune = new Map<string, number>();

  /** One notice per sender per minute at most. */
  const noticeOnce = (acc: AccountRow, msg: InboundMessage, text: string, now: number) => {
    const k = `${acc.tenantId}\u0000${acc.id}\u0000${msg.peerId}`;
    if ((noticed.get(k) ?? 0) > now - 60_000) return;
    noticed.set(k, now);
    if (noticed.size > 50_000) for (const [key, at] of noticed) if (at <= now - 60_000) noticed.delete(key);
    deps.notify(acc, msg, text);
  };

  /**
   * The platform time at or before which a message may have had its inbox row pruned, so that a repeat
   * of it would no longer be recognised: a day ago (the time prune), or — once the channel holds as many
   * rows as the prune keeps — the receipt of the oldest row kept (older rows may have been pruned). A
   * message the platform dated at or before it (plus a clock allowance) is refused as a replay: the
   * record of delivery ids is only as good as its horizon (WhatsApp signs no timestamp at all).
   */
  function replayFloor(acc: AccountRow, now: number): number {
    const span = store.inboxSpan.get(acc.tenantId, acc.id) as { n: number; oldest: number | null };
    const byCount = span.n >= deps.keptPerChannel && span.oldest !== null ? span.oldest + CLOCK_SKEW_MS : -Infinity;
    return Math.max(now - REPLAY_HORIZON_MS, byCount);
  }

  /** Records and queues the messages of one verified delivery (or one poll). */
  function accept(acc: AccountRow, messages: InboundMessage[]): void {
    const now = deps.now();
    const c = deps.config().gateway.channels;
    const options = JSON.parse(acc.options) as ChannelOptions;
    // The rows of the delivery are one commit; queueing (which starts runs) and notices come after it.
    const queued: { deliveryId: string; sessionKey: string }[] = [];
    const notices: { msg: InboundMessage; text: string }[] = [];
    deps.transaction(() => {
      let floor: number | null = null;
      for (const m of messages) {
        // Platform ids are bounded before they are stored or keyed on.
        const msg: InboundMessage = { ...m, deliveryId: m.deliveryId.slice(0, 200), peerId: m.peerId.slice(0, 200), chat: { ...m.chat, id: m.chat.id.slice(0, 200), ...(m.chat.threadId !== undefined ? { threadId: m.chat.threadId.slice(0, 200) } : {}) } };
        const numeric = acc.kind === "telegram" && /^\d{1,15}$/.test(msg.deliveryId) ? Number(msg.deliveryId) : null;
        if (numeric !== null && acc.highestUpdate !== null && numeric <= acc.highestUpdate - UPDATE_ID_WINDOW) {
          store.count.run(acc.tenantId, acc.id, 0, 0, 0, 0, 1);
          continue;
        }
        if (msg.sentAtMs !== undefined && msg.sentAtMs <= (floor ??= replayFloor(acc, now))) {
          store.count.run(acc.tenantId, acc.id, 0, 0, 0, 0, 1);
          continue;
        }
        const sessionKey = sessionKeyOf(acc.id, msg);
        const inserted = store.insertInbox.run(acc.tenantId, acc.id, msg.deliveryId, msg.peerId, msg.chat.id, msg.chat.threadId ?? null, sessionKey, msg.text, msg.replyContext ? JSON.stringify(msg.replyContext) : null, "queued", null, now);
        if (inserted.changes === 0) {
          store.count.run(acc.tenantId, acc.id, 0, 0, 0, 0, 1);
          continue;
        }
        if (numeric !== null) store.setHighest.run(acc.tenantId, acc.id, numeric);
        const pk = `${acc.tenantId}\u0000${acc.id}`;
        const n = (sincePrune.get(pk) ?? 0) + 1;
        sincePrune.set(pk, n % PRUNE_EVERY);
        if (n >= PRUNE_EVERY) {
          deps.prune(acc.tenantId, acc.id);
          floor = null;
        }
        store.count.run(acc.tenantId, acc.id, 1, 0, 0, 0, 0);
        const drop = (why: string) => {
          store.setInbox.run(acc.tenantId, acc.id, msg.deliveryId, "dropped", why, null);
          store.count.run(acc.tenantId, acc.id, 0, 0, 0, 1, 0);
        };
        const verdict = deps.policy.decide(acc.tenantId, acc.id, options, msg, now);
        if (!verdict.allow) {
          drop(verdict.reason);
          if (verdict.code) notices.push({ msg, text: `This assistant answers only people its owner approved. Your pairing code is ${showCode(verdict.code)} (valid until ${new Date(verdict.expiresAt!).toISOString().slice(0, 16).replace("T", " ")} UTC): send it to the owner.` });
          continue;
        }
        const perPeer = { perMinute: c.perPeerPerMinute, burst: c.perPeerPerMinute };
        const perChannel = { perMinute: c.perChannelPerMinute, burst: c.perChannelPerMinute };
        if (buckets.take(`c\u0000${acc.tenantId}\u0000${acc.id}`, now, perChannel) !== null || buckets.take(`p\u0000${acc.tenantId}\u0000${acc.id}\u0000${msg.peerId}`, now, perPeer) !== null) {
          drop("rate limited");
          notices.push({ msg, text: "Too many messages: some were not passed on. Please wait a minute." });
          continue;
        }
        queued.push({ deliveryId: msg.deliveryId, sessionKey });
      }
    });
    for (const q of queued) {
      deps.dispatcher.enqueue({ tenantId: acc.tenantId, channelId: acc.id, ...q });
      deps.events.publish(channelOwnerScope(acc), { method: "channels", params: { action: "inbound", channelId: acc.id, deliveryId: q.deliveryId }, sessionKey: q.sessionKey });
    }
    for (const n of notices) noticeOnce(acc, n.msg, n.text, now);
  }

  /** The kind and secrets a delivery is checked with: the channel's, or throwaway ones (null account). */
  function target(kindName: string, hookId: string): { kind: ChannelKind | null; acc: AccountRow | null; secrets: Record<string, string> } {
    const c = deps.config().gateway.channels;
    const kind = kindOf(kindName);
    // The same look-ups whatever the id (the row, the tenant's state): a known id costs what an unknown one does.
    const row = deps.registry.account(hookId);
    const active = deps.tenants.isActive(row?.tenantId ?? "");
    const acc = kind && c.enabled && c.kinds[kind.name].enabled && row && row.kind === kind.name && active ? row : null;
    const secrets = acc ? deps.registry.secretsOf(acc) : null;
    return { kind, acc: acc && secrets ? acc : null, secrets: secrets ?? THROWAWAY[kind?.name ?? "webhook"] };
  }

  return {
    accept,

    async handle(kindName: string, hookId: string, req: InboundRequest): Promise<DirectResponse> {
      const { kind, acc, secrets } = target(kindName, hookId);
      // The check runs for a refused target too (against the throwaway secrets): the same work either way.
      const verified = (kind ?? kindOf("webhook")!).verify(req, secrets);
      if (!kind || !acc || !verified) return REFUSAL;
      const handshake = kind.handshake(req, secrets);
      if (handshake) return handshake;
      if (req.method !== "POST") return REFUSAL;
      let messages: InboundMessage[];
      try {
        messages = kind.parse(req, secrets);
      } catch {
        return MALFORMED;
      }
      accept(acc, messages);
      return kind.ack(messages);
    },
  };
}

export type Ingest = ReturnType<typeof createIngest>;
