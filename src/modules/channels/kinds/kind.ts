// What one messaging platform (a channel kind) must provide to the channels module. The module owns
// everything common — the opaque webhook path, the one identical refusal, replay refusal by delivery id,
// sender policy, rate limits, sessions, retries, secrets at rest — and asks the kind only the
// platform-specific questions: is this delivery signed by the platform, which messages does it carry,
// how is a reply sent. A kind never sees another channel's secrets and never chooses the host it talks
// to: `api.base` is the operator's configured API base for the kind.

/** The channel kinds the gateway knows. */
export type ChannelKindName = "telegram" | "slack" | "whatsapp" | "discord" | "webhook";

/** A kind's credentials after validation, as stored (encrypted at rest as one JSON object). */
export type ChannelSecrets = Record<string, string>;

/** An inbound HTTP delivery, read in full (capped by the module) before the kind looks at it. */
export interface InboundRequest {
  method: "GET" | "POST";
  /** Header names lower-cased. */
  headers: Record<string, string>;
  query: URLSearchParams;
  /** The exact bytes received: signatures are checked over these, before any parse. */
  rawBody: Uint8Array;
  /** The gateway clock (ms since the epoch), for timestamp windows. */
  nowMs: number;
}

/** A reply the kind asks the module to send back on the webhook's own HTTP response. */
export interface DirectResponse {
  status: number;
  body: string;
  contentType?: string;
}

/** One message carried by a delivery, normalised. */
export interface InboundMessage {
  /** Unique per channel for this message (Telegram update_id, Slack event_id, WhatsApp message id, Discord interaction id, webhook delivery id): a repeat is a replay. */
  deliveryId: string;
  /** The sender, as the platform names them (user id). */
  peerId: string;
  peerName?: string;
  /** The conversation: a DM is keyed by the peer, a group or channel by its id, a thread apart from its parent. */
  chat: { id: string; type: "dm" | "group"; threadId?: string };
  text: string;
  /** The platform's timestamp of the message (ms), when it has one. */
  sentAtMs?: number;
  /** Kind-specific facts the reply needs (Discord: application id and interaction token; Slack: thread ts). Never secrets of the gateway. */
  replyContext?: Record<string, string>;
}

/** Where and how a reply goes. */
export interface ReplyTarget {
  chatId: string;
  threadId?: string;
  peerId?: string;
  replyContext?: Record<string, string>;
}

/** A platform's refusal to take a call now: the module retries after `retryAfterMs` (429, 5xx), up to its limit. */
export class RetryableSendError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
    this.name = "RetryableSendError";
  }
}

/** What a kind may use to reach its platform: the operator's API base and the gateway's fetch (timeouts applied). */
export interface PlatformApi {
  /** e.g. "https://api.telegram.org", "https://slack.com/api", "https://graph.facebook.com/v21.0", "https://discord.com/api/v10"; for `webhook`, the channel's callback URL after egress vetting. */
  base: string;
  fetch: typeof fetch;
}

/** Per-channel options the tenant sets at pairing (kind-specific ones validated by the kind). */
export interface ChannelOptionsCommon {
  agentId?: string;
  dmPolicy?: "pairing" | "allowlist" | "open";
  allowFrom?: string[];
  /** Telegram only: "webhook" (default) or "polling" (getUpdates, where a webhook cannot be reached). */
  mode?: "webhook" | "polling";
}

export interface ChannelKind {
  readonly name: ChannelKindName;
  /** Validates what the tenant sent at pairing; returns the secrets to store and the non-secret facts shown back (e.g. bot username, app id). Throws AppError VALIDATION naming the field. */
  validateCredentials(credentials: unknown): { secrets: ChannelSecrets; facts: Record<string, string> };
  /** Names of the secrets whose last 4 characters may be shown (masked) by list/status. */
  readonly maskedFields: readonly string[];
  /**
   * Checks that a delivery comes from the platform for this channel, over the raw bytes and headers
   * only (constant-time compares; timestamp windows against `req.nowMs`). Runs before any other work.
   */
  verify(req: InboundRequest, secrets: ChannelSecrets): boolean;
  /**
   * Platform handshakes answered on the webhook's response after `verify` passed (Slack
   * url_verification, Discord PING, WhatsApp's GET hub.challenge — for which `verify` checks the
   * verify token). null: not a handshake.
   */
  handshake(req: InboundRequest, secrets: ChannelSecrets): DirectResponse | null;
  /** The messages a verified delivery carries (possibly none: edits, reactions, bot echoes are ignored). Throws on a malformed body. */
  parse(req: InboundRequest, secrets: ChannelSecrets): InboundMessage[];
  /** The webhook's HTTP answer once the messages are recorded (Discord: a deferred response `{type:5}`; others: 200). */
  ack(messages: InboundMessage[]): DirectResponse;
  /** Sends a reply (split by the kind to the platform's length limit). Throws RetryableSendError on 429/5xx, Error otherwise. */
  send(api: PlatformApi, secrets: ChannelSecrets, to: ReplyTarget, text: string): Promise<void>;
  /** A typing indicator while the agent runs, where the platform has one (best effort, errors ignored). */
  typing?(api: PlatformApi, secrets: ChannelSecrets, to: ReplyTarget): Promise<void>;
  /** At pairing, after validation: registers the webhook with the platform (Telegram setWebhook with secret_token) and checks the credentials work (getMe). Returns extra facts. */
  onPair?(api: PlatformApi, secrets: ChannelSecrets, webhookUrl: string | null): Promise<Record<string, string>>;
  /** At unpair: deregisters (Telegram deleteWebhook). Best effort. */
  onUnpair?(api: PlatformApi, secrets: ChannelSecrets): Promise<void>;
}
