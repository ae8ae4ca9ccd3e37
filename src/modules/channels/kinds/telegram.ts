// Telegram, through the Bot API with grammY's client pointed at the operator's API base. A webhook is
// registered with a random secret_token that Telegram sends back in X-Telegram-Bot-Api-Secret-Token
// on every update (checked in constant time before anything is parsed); a channel in polling mode
// fetches its updates with getUpdates instead (polling.ts), with no webhook at all. Replies go with
// sendMessage, split at Telegram's 4096 characters; "typing…" shows while the agent runs.
import { randomBytes } from "node:crypto";
import { Api, GrammyError, HttpError } from "grammy";
import { AppError } from "../../../core/errors.ts";
import { sameSecret } from "../secrets.ts";
import { RetryableSendError, type ChannelKind, type ChannelSecrets, type InboundMessage, type PlatformApi } from "./kind.ts";

export const TELEGRAM_MAX_TEXT = 4096;
const TOKEN = /^\d{3,20}:[A-Za-z0-9_-]{30,100}$/;

function client(api: PlatformApi, secrets: ChannelSecrets): Api {
  return new Api(secrets.botToken!, { apiRoot: api.base.replace(/\/+$/, ""), fetch: api.fetch, timeoutSeconds: 60 });
}

/** Splits a text into pieces of at most `max` characters, at a line break or a space where there is one. */
export function splitText(text: string, max: number): string[] {
  const out: string[] = [];
  let rest = text.length ? text : " ";
  while (rest.length > max) {
    let cut = rest.lastIndexOf("\n", max);
    if (cut < max / 2) cut = rest.lastIndexOf(" ", max);
    if (cut < max / 2) cut = max;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^[\n ]/, "");
  }
  out.push(rest);
  return out;
}

/** A platform call's failure, as the module's retry loop reads it. */
function sendError(err: unknown): Error {
  if (err instanceof GrammyError) {
    if (err.error_code === 429) return new RetryableSendError(`telegram: ${err.description}`, (err.parameters.retry_after ?? 1) * 1000);
    if (err.error_code >= 500) return new RetryableSendError(`telegram: ${err.error_code} ${err.description}`, null);
    return new Error(`telegram: ${err.error_code} ${err.description}`);
  }
  if (err instanceof HttpError) return new RetryableSendError(`telegram: ${err.message}`, null);
  return err instanceof Error ? err : new Error(String(err));
}

interface TgUpdate {
  update_id: number;
  message?: {
    message_id: number;
    message_thread_id?: number;
    date?: number;
    text?: string;
    from?: { id: number; is_bot?: boolean; first_name?: string; username?: string };
    chat: { id: number; type: string };
  };
}

/** The text messages of Telegram updates (bots' own, edits and non-text messages are ignored). */
export function messagesOfUpdates(updates: unknown[]): InboundMessage[] {
  const out: InboundMessage[] = [];
  for (const raw of updates) {
    const u = raw as TgUpdate;
    if (!u || typeof u !== "object" || !Number.isSafeInteger(u.update_id)) throw new Error("not a Telegram update");
    const m = u.message;
    if (!m || typeof m.text !== "string" || !m.from || m.from.is_bot || !m.chat) continue;
    const dm = m.chat.type === "private";
    out.push({
      deliveryId: String(u.update_id),
      peerId: String(m.from.id),
      ...(m.from.username || m.from.first_name ? { peerName: String(m.from.username ?? m.from.first_name).slice(0, 100) } : {}),
      chat: { id: String(m.chat.id), type: dm ? "dm" : "group", ...(m.message_thread_id !== undefined && !dm ? { threadId: String(m.message_thread_id) } : {}) },
      text: m.text,
      ...(m.date ? { sentAtMs: m.date * 1000 } : {}),
    });
  }
  return out;
}

/** One long poll (polling mode): the updates after `offset`, waiting up to `timeoutSeconds`. */
export async function getUpdates(api: PlatformApi, secrets: ChannelSecrets, offset: number | null, timeoutSeconds: number, signal: AbortSignal): Promise<unknown[]> {
  try {
    return (await client(api, secrets).getUpdates({ ...(offset !== null ? { offset } : {}), timeout: timeoutSeconds, allowed_updates: ["message"] }, signal as never)) as unknown[];
  } catch (err) {
    throw sendError(err);
  }
}

export const telegramKind: ChannelKind = {
  name: "telegram",
  maskedFields: ["botToken"],

  validateCredentials(credentials) {
    const c = credentials as Record<string, unknown> | null;
    if (!c || typeof c !== "object" || Array.isArray(c)) throw new AppError("INVALID_PARAMS", "credentials must be an object {botToken}");
    const extra = Object.keys(c).filter((k) => k !== "botToken");
    if (extra.length) throw new AppError("INVALID_PARAMS", `credentials.${extra[0]} is not a Telegram credential (give botToken only)`);
    if (typeof c.botToken !== "string" || !TOKEN.test(c.botToken)) throw new AppError("INVALID_PARAMS", "credentials.botToken must be a Telegram bot token (<digits>:<letters>, from @BotFather)");
    // The secret Telegram sends back with each update: ours, random, never the tenant's choice.
    return { secrets: { botToken: c.botToken, webhookSecret: randomBytes(32).toString("base64url") }, facts: { botId: c.botToken.split(":")[0]! } };
  },

  verify(req, secrets) {
    const got = req.headers["x-telegram-bot-api-secret-token"] ?? "";
    return req.method === "POST" && sameSecret(got, secrets.webhookSecret ?? "");
  },

  handshake: () => null,

  parse(req) {
    const body = JSON.parse(new TextDecoder().decode(req.rawBody)) as unknown;
    return messagesOfUpdates([body]);
  },

  ack: () => ({ status: 200, body: "{}", contentType: "application/json" }),

  async send(api, secrets, to, text) {
    const tg = client(api, secrets);
    for (const part of splitText(text, TELEGRAM_MAX_TEXT)) {
      try {
        await tg.sendMessage(to.chatId, part, to.threadId ? { message_thread_id: Number(to.threadId) } : {});
      } catch (err) {
        throw sendError(err);
      }
    }
  },

  async typing(api, secrets, to) {
    await client(api, secrets)
      .sendChatAction(to.chatId, "typing", to.threadId ? { message_thread_id: Number(to.threadId) } : {})
      .catch(() => {});
  },

  async onPair(api, secrets, webhookUrl) {
    const tg = client(api, secrets);
    try {
      const me = await tg.getMe();
      if (webhookUrl) await tg.setWebhook(webhookUrl, { secret_token: secrets.webhookSecret, allowed_updates: ["message"] });
      // Polling: getUpdates works only while no webhook is set.
      else await tg.deleteWebhook();
      return { username: me.username ?? "", botId: String(me.id) };
    } catch (err) {
      if (err instanceof GrammyError && (err.error_code === 401 || err.error_code === 404)) throw new AppError("INVALID_PARAMS", "credentials.botToken was refused by Telegram (getMe: unauthorized)");
      throw new AppError("UPSTREAM_ERROR", `Telegram could not be reached to pair the bot: ${(err as Error).message}`.slice(0, 300));
    }
  },

  async onUnpair(api, secrets) {
    await client(api, secrets)
      .deleteWebhook()
      .catch(() => {});
  },
};
