// Slack through the Events API. Inbound: every request carries `X-Slack-Signature: v0=<hex HMAC-SHA256
// (signingSecret, "v0:" + X-Slack-Request-Timestamp + ":" + raw body)>`; the timestamp must be within
// five minutes of the gateway clock (Slack's documented window), so an old signed body cannot be replayed
// once the module's delivery-id record of it is gone. `url_verification` is answered with its challenge.
// Which events become messages: a `message` in a DM (channel_type "im"), and an `app_mention` anywhere
// else — a mention in a channel also arrives as a `message` event when the app subscribes to channel
// messages, and taking both would run the agent twice for one mention. Bot messages (bot_id) and
// subtypes (edits, joins, deletions) are ignored, so the bot never answers itself.
// Outbound: `chat.postMessage` through @slack/web-api, pointed at the operator's API base and the
// gateway's fetch, with the client's own retries off (the module retries, honouring Retry-After).
// The agent's `&`, `<`, `>` are escaped as Slack asks, so its text can never ping @channel.
import { ErrorCode, type Logger, LogLevel, WebClient } from "@slack/web-api";
import { AppError } from "../../../core/errors.ts";
import { equalSecret, hmacSha256Hex } from "../../../lib/constant-time.ts";
import { splitText } from "../../../lib/split-text.ts";
import {
  type ChannelKind,
  type ChannelSecrets,
  type DirectResponse,
  type InboundMessage,
  type InboundRequest,
  type PlatformApi,
  RetryableSendError,
  type ReplyTarget,
} from "./kind.ts";

/** Slack's window for X-Slack-Request-Timestamp. */
export const SLACK_WINDOW_SECONDS = 300;
/** Slack truncates text past 40,000 characters and advises at most 4,000 per message. */
export const SLACK_MAX_TEXT = 4000;
const SEND_TIMEOUT_MS = 10_000;
/** Platform errors that mean "not now" rather than "never". */
const TRANSIENT_ERRORS = new Set(["ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"]);

const silent: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  setLevel() {},
  getLevel: () => LogLevel.ERROR,
  setName() {},
};

function field(credentials: Record<string, unknown>, name: string, check: (v: string) => boolean, what: string): string {
  const v = credentials[name];
  if (typeof v !== "string" || !check(v)) throw new AppError("INVALID_PARAMS", `credentials.${name}: ${what}`);
  return v;
}

function client(api: PlatformApi, secrets: ChannelSecrets): WebClient {
  return new WebClient(secrets.botToken, {
    slackApiUrl: `${api.base.replace(/\/+$/, "")}/`,
    fetch: api.fetch,
    allowAbsoluteUrls: false, // a method name can never redirect the call to another host
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: SEND_TIMEOUT_MS,
    logger: silent,
  });
}

/** Slack's errors, sorted into "retry later" and "give up"; never carries the token. */
function classify(err: unknown, method: string): Error {
  const e = err as { code?: string; retryAfter?: number; statusCode?: number; data?: { error?: string } };
  if (e?.code === ErrorCode.RateLimitedError) return new RetryableSendError(`slack ${method}: rate limited`, Math.max(0, (e.retryAfter ?? 1) * 1000));
  if (e?.code === ErrorCode.HTTPError) {
    const status = e.statusCode ?? 0;
    if (status >= 500) return new RetryableSendError(`slack ${method}: HTTP ${status}`, null);
    return new Error(`slack ${method}: HTTP ${status}`);
  }
  if (e?.code === ErrorCode.PlatformError) {
    const code = String(e.data?.error ?? "unknown_error").slice(0, 100);
    return TRANSIENT_ERRORS.has(code) ? new RetryableSendError(`slack ${method}: ${code}`, null) : new Error(`slack ${method}: ${code}`);
  }
  if (e?.code === ErrorCode.RequestError) return new RetryableSendError(`slack ${method}: request failed`, null);
  // A 429 without a usable Retry-After surfaces as a plain error from the client.
  if (err instanceof Error && /rate limit|Retry header/i.test(err.message)) return new RetryableSendError(`slack ${method}: rate limited`, null);
  return new Error(`slack ${method}: ${err instanceof Error ? err.message.slice(0, 200) : "failed"}`);
}

/** Slack reads `<…>` as links and mentions (`<!channel>` pings everyone): the agent's text is shown as written. */
export function escapeSlackText(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function bodyText(req: InboundRequest): string {
  return new TextDecoder().decode(req.rawBody);
}

export const slackKind: ChannelKind = {
  name: "slack",
  maskedFields: ["botToken", "signingSecret"],

  validateCredentials(credentials) {
    if (typeof credentials !== "object" || credentials === null || Array.isArray(credentials)) throw new AppError("INVALID_PARAMS", "credentials: expected an object with botToken and signingSecret");
    const c = credentials as Record<string, unknown>;
    const botToken = field(c, "botToken", (v) => /^xoxb-[A-Za-z0-9-]{10,250}$/.test(v), "expected a Slack bot token (xoxb-…)");
    const signingSecret = field(c, "signingSecret", (v) => /^[A-Za-z0-9]{16,128}$/.test(v), "expected the app's signing secret (16–128 letters and digits)");
    return { secrets: { botToken, signingSecret }, facts: {} };
  },

  verify(req, secrets) {
    if (req.method !== "POST") return false;
    const ts = req.headers["x-slack-request-timestamp"] ?? "";
    const sig = req.headers["x-slack-signature"] ?? "";
    if (!/^\d{1,12}$/.test(ts) || !sig.startsWith("v0=")) return false;
    if (Math.abs(req.nowMs / 1000 - Number(ts)) > SLACK_WINDOW_SECONDS) return false;
    const base = Buffer.concat([Buffer.from(`v0:${ts}:`), req.rawBody]);
    return equalSecret(sig, `v0=${hmacSha256Hex(secrets.signingSecret ?? "", base)}`);
  },

  handshake(req): DirectResponse | null {
    let body: { type?: unknown; challenge?: unknown };
    try {
      body = JSON.parse(bodyText(req));
    } catch {
      return null; // parse() reports the malformed body
    }
    if (body?.type !== "url_verification") return null;
    if (typeof body.challenge !== "string" || body.challenge.length > 200) return null;
    return { status: 200, body: JSON.stringify({ challenge: body.challenge }), contentType: "application/json" };
  },

  parse(req): InboundMessage[] {
    const body = JSON.parse(bodyText(req)) as Record<string, any>;
    if (typeof body !== "object" || body === null) throw new Error("slack: the body is not an object");
    if (body.type !== "event_callback") return [];
    const ev = body.event as Record<string, any> | undefined;
    if (typeof body.event_id !== "string" || typeof ev !== "object" || ev === null) throw new Error("slack: event_callback without event_id or event");
    if (ev.bot_id !== undefined || ev.subtype !== undefined) return [];
    const isDm = ev.type === "message" && ev.channel_type === "im";
    if (!isDm && ev.type !== "app_mention") return [];
    if (typeof ev.user !== "string" || typeof ev.channel !== "string" || typeof ev.text !== "string" || typeof ev.ts !== "string") return [];
    const threadTs = typeof ev.thread_ts === "string" ? ev.thread_ts : undefined;
    // A mention outside a thread starts one: the answer goes under it, and the thread is its session.
    const replyThread = threadTs ?? (isDm ? undefined : ev.ts);
    const msg: InboundMessage = {
      deliveryId: body.event_id,
      peerId: ev.user,
      chat: { id: ev.channel, type: isDm ? "dm" : "group", ...(replyThread ? { threadId: replyThread } : {}) },
      text: ev.text,
      sentAtMs: Math.round(Number(ev.ts) * 1000) || undefined,
      ...(replyThread ? { replyContext: { threadTs: replyThread } } : {}),
    };
    return [msg];
  },

  ack(): DirectResponse {
    return { status: 200, body: "" };
  },

  async send(api: PlatformApi, secrets: ChannelSecrets, to: ReplyTarget, text: string): Promise<void> {
    if (text.trim() === "") throw new Error("slack chat.postMessage: the reply is empty");
    const web = client(api, secrets);
    const threadTs = to.replyContext?.threadTs ?? to.threadId;
    // Split before escaping so no entity is cut in two (escaped, a piece stays far below the 40,000 limit).
    for (const piece of splitText(text, SLACK_MAX_TEXT)) {
      try {
        await web.chat.postMessage({ channel: to.chatId, text: escapeSlackText(piece), ...(threadTs ? { thread_ts: threadTs } : {}) });
      } catch (err) {
        throw classify(err, "chat.postMessage");
      }
    }
  },

  async onPair(api, secrets) {
    try {
      const r = (await client(api, secrets).auth.test()) as { team?: string; team_id?: string; user_id?: string; bot_id?: string };
      return {
        ...(r.team ? { team: String(r.team).slice(0, 100) } : {}),
        ...(r.team_id ? { teamId: String(r.team_id).slice(0, 50) } : {}),
        ...(r.user_id ? { botUserId: String(r.user_id).slice(0, 50) } : {}),
      };
    } catch (err) {
      const e = classify(err, "auth.test");
      throw new AppError(e instanceof RetryableSendError ? "UPSTREAM_ERROR" : "INVALID_PARAMS", `credentials.botToken: Slack refused it (${e.message})`);
    }
  },
};
