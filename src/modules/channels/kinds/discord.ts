// Discord through an interactions endpoint (HTTP, no gateway connection). Every request carries
// `X-Signature-Ed25519` (hex) over `X-Signature-Timestamp` + raw body, checked against the
// application's public key; the timestamp (unix seconds) must be within five minutes, so an old signed
// body cannot be replayed once the module's record of its interaction id is gone. PING (type 1) is
// answered PONG `{type:1}`. An APPLICATION_COMMAND (type 2) of this application — the `ask` command
// registered at pairing, or any command with a string option — becomes a message; it is acknowledged
// with a deferred response `{type:5}` (Discord shows "thinking…" and allows 15 minutes), and the answer
// goes as follow-up messages on the interaction's webhook (POST /webhooks/{application}/{token}), which
// needs the interaction token, not the bot token. With nothing to ask, the acknowledgement is an
// ephemeral note (type 4) rather than a deferral nobody will complete.
// Follow-ups never ping: `allowed_mentions: {parse: []}`, whatever the agent wrote.
import { createPublicKey, verify as verifySignature } from "node:crypto";
import { AppError } from "../../../core/errors.ts";
import { equalSecret } from "../../../lib/constant-time.ts";
import { splitText } from "../../../lib/split-text.ts";
import {
  type ChannelKind,
  type ChannelSecrets,
  type DirectResponse,
  type InboundMessage,
  type PlatformApi,
  RetryableSendError,
  type ReplyTarget,
} from "./kind.ts";

export const DISCORD_WINDOW_SECONDS = 300;
export const DISCORD_MAX_TEXT = 2000;
export const DISCORD_COMMAND = { name: "ask", description: "Ask the assistant", option: "message" } as const;
/** DER prefix that wraps a raw 32-byte Ed25519 public key as SubjectPublicKeyInfo. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const THREAD_TYPES = new Set([10, 11, 12]);
const EPHEMERAL = 64;

function field(c: Record<string, unknown>, name: string, re: RegExp, what: string): string {
  const v = c[name];
  if (typeof v !== "string" || !re.test(v)) throw new AppError("INVALID_PARAMS", `credentials.${name}: ${what}`);
  return v;
}

function publicKey(hex: string) {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(hex, "hex")]), format: "der", type: "spki" });
}

/** The first string option (type 3), looking into subcommands; the command's `message` option first. */
function stringOption(options: unknown): string | null {
  if (!Array.isArray(options)) return null;
  const named = options.find((o) => o?.type === 3 && o?.name === DISCORD_COMMAND.option && typeof o.value === "string");
  if (named) return named.value;
  for (const o of options) {
    if (o?.type === 3 && typeof o.value === "string") return o.value;
    if (o?.type === 1 || o?.type === 2) {
      const inner = stringOption(o.options);
      if (inner !== null) return inner;
    }
  }
  return null;
}

async function discordError(res: Response, what: string): Promise<Error> {
  let retryAfter: number | null = null;
  let message = "";
  try {
    const body = (await res.json()) as { retry_after?: unknown; message?: unknown };
    if (typeof body.retry_after === "number" && body.retry_after >= 0) retryAfter = Math.round(body.retry_after * 1000);
    if (typeof body.message === "string") message = body.message.slice(0, 200);
  } catch {
    // not JSON
  }
  if (retryAfter === null) {
    const h = Number(res.headers.get("retry-after"));
    if (res.headers.has("retry-after") && Number.isFinite(h) && h >= 0) retryAfter = Math.round(h * 1000);
  }
  const text = `discord ${what}: HTTP ${res.status}${message ? ` (${message})` : ""}`;
  if (res.status === 429 || res.status >= 500) return new RetryableSendError(text, retryAfter);
  return new Error(text);
}

const base = (api: PlatformApi) => api.base.replace(/\/+$/, "");

export const discordKind: ChannelKind = {
  name: "discord",
  maskedFields: ["botToken"],

  validateCredentials(credentials) {
    if (typeof credentials !== "object" || credentials === null || Array.isArray(credentials)) throw new AppError("INVALID_PARAMS", "credentials: expected an object with publicKey, applicationId and botToken");
    const c = credentials as Record<string, unknown>;
    const publicKeyHex = field(c, "publicKey", /^[0-9a-fA-F]{64}$/, "expected the application's public key (64 hex digits)").toLowerCase();
    const applicationId = field(c, "applicationId", /^\d{15,25}$/, "expected the application id (a snowflake, digits)");
    const botToken = field(c, "botToken", /^[A-Za-z0-9_\-.]{50,200}$/, "expected the bot token");
    try {
      publicKey(publicKeyHex);
    } catch {
      throw new AppError("INVALID_PARAMS", "credentials.publicKey: not a valid Ed25519 public key");
    }
    return { secrets: { publicKey: publicKeyHex, applicationId, botToken }, facts: { applicationId } };
  },

  verify(req, secrets) {
    if (req.method !== "POST") return false;
    const ts = req.headers["x-signature-timestamp"] ?? "";
    const sig = req.headers["x-signature-ed25519"] ?? "";
    if (!/^\d{1,12}$/.test(ts) || !/^[0-9a-fA-F]{128}$/.test(sig)) return false;
    if (Math.abs(req.nowMs / 1000 - Number(ts)) > DISCORD_WINDOW_SECONDS) return false;
    try {
      return verifySignature(null, Buffer.concat([Buffer.from(ts), req.rawBody]), publicKey(secrets.publicKey ?? ""), Buffer.from(sig, "hex"));
    } catch {
      return false;
    }
  },

  handshake(req): DirectResponse | null {
    let body: { type?: unknown };
    try {
      body = JSON.parse(new TextDecoder().decode(req.rawBody));
    } catch {
      return null;
    }
    return body?.type === 1 ? { status: 200, body: JSON.stringify({ type: 1 }), contentType: "application/json" } : null;
  },

  parse(req, secrets): InboundMessage[] {
    const i = JSON.parse(new TextDecoder().decode(req.rawBody)) as Record<string, any>;
    if (typeof i !== "object" || i === null || typeof i.type !== "number") throw new Error("discord: expected an interaction object");
    if (i.type !== 2 || i.application_id !== secrets.applicationId) return [];
    if (typeof i.id !== "string" || typeof i.token !== "string" || typeof i.channel_id !== "string") throw new Error("discord: command without id, token or channel_id");
    const user = i.member?.user ?? i.user;
    if (typeof user?.id !== "string" || user.bot === true) return [];
    const text = stringOption(i.data?.options);
    if (text === null || text.trim() === "") return [];
    const name = typeof user.global_name === "string" ? user.global_name : typeof user.username === "string" ? user.username : undefined;
    const inThread = THREAD_TYPES.has(i.channel?.type) && typeof i.channel?.parent_id === "string";
    const chat: InboundMessage["chat"] =
      typeof i.guild_id !== "string"
        ? { id: i.channel_id, type: "dm" }
        : inThread
          ? { id: i.channel.parent_id, type: "group", threadId: i.channel_id }
          : { id: i.channel_id, type: "group" };
    return [
      {
        deliveryId: i.id,
        peerId: user.id,
        ...(name ? { peerName: name.slice(0, 100) } : {}),
        chat,
        text,
        // The signed timestamp dates the interaction (verify() held it to the window): a replay once its inbox row is pruned is refused by it.
        ...(/^\d{1,12}$/.test(req.headers["x-signature-timestamp"] ?? "") ? { sentAtMs: Number(req.headers["x-signature-timestamp"]) * 1000 } : {}),
        replyContext: { applicationId: secrets.applicationId ?? "", interactionToken: i.token },
      },
    ];
  },

  ack(messages): DirectResponse {
    if (messages.length > 0) return { status: 200, body: JSON.stringify({ type: 5 }), contentType: "application/json" };
    const note = { type: 4, data: { content: "Nothing to ask: use /ask with a message.", flags: EPHEMERAL, allowed_mentions: { parse: [] } } };
    return { status: 200, body: JSON.stringify(note), contentType: "application/json" };
  },

  async send(api: PlatformApi, secrets: ChannelSecrets, to: ReplyTarget, text: string): Promise<void> {
    if (text.trim() === "") throw new Error("discord follow-up: the reply is empty");
    const token = to.replyContext?.interactionToken;
    if (!token) throw new Error("discord follow-up: no interaction token (a reply is possible only to an interaction)");
    // The application is the channel's own, never one named by the delivery.
    const url = `${base(api)}/webhooks/${encodeURIComponent(secrets.applicationId ?? "")}/${encodeURIComponent(token)}`;
    for (const piece of splitText(text, DISCORD_MAX_TEXT)) {
      let res: Response;
      try {
        res = await api.fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ content: piece, allowed_mentions: { parse: [] } }),
          redirect: "error",
        });
      } catch {
        throw new RetryableSendError("discord follow-up: request failed", null);
      }
      if (!res.ok) throw await discordError(res, "follow-up");
      await res.body?.cancel();
    }
  },

  async onPair(api, secrets) {
    const auth = { authorization: `Bot ${secrets.botToken}` };
    const call = async (path: string, init: RequestInit = {}) => {
      let res: Response;
      try {
        res = await api.fetch(`${base(api)}${path}`, { ...init, headers: { ...auth, "content-type": "application/json" }, redirect: "error" });
      } catch {
        throw new AppError("UPSTREAM_ERROR", "discord: the API could not be reached");
      }
      if (!res.ok) {
        const e = await discordError(res, path.startsWith("/applications/@me") ? "application" : "command registration");
        throw new AppError(e instanceof RetryableSendError ? "UPSTREAM_ERROR" : "INVALID_PARAMS", `credentials.botToken: ${e.message}`);
      }
      return (await res.json().catch(() => ({}))) as Record<string, unknown>;
    };
    // The bot token's application must be the one named, and its key the one given: a mismatch would
    // verify deliveries of one app and answer as another.
    const app = await call("/applications/@me");
    if (app.id !== secrets.applicationId) throw new AppError("INVALID_PARAMS", "credentials.applicationId: the bot token belongs to another application");
    if (typeof app.verify_key === "string" && !equalSecret(app.verify_key.toLowerCase(), secrets.publicKey ?? "")) throw new AppError("INVALID_PARAMS", "credentials.publicKey: not the application's public key");
    await call(`/applications/${encodeURIComponent(secrets.applicationId ?? "")}/commands`, {
      method: "POST",
      body: JSON.stringify({
        name: DISCORD_COMMAND.name,
        type: 1,
        description: DISCORD_COMMAND.description,
        options: [{ type: 3, name: DISCORD_COMMAND.option, description: "What to ask", required: true }],
      }),
    });
    return { ...(typeof app.name === "string" ? { applicationName: app.name.slice(0, 100) } : {}), command: `/${DISCORD_COMMAND.name}` };
  },
};
