// The generic webhook: any system that can sign JSON talks to the tenant's agent. Inbound deliveries
// carry X-OpenClawMU-Timestamp (Unix seconds) and X-OpenClawMU-Signature: sha256=<hex
// HMAC-SHA256(secret, timestamp + "." + body)> — the scheme cron's webhook delivery signs with —
// checked over the raw bytes, the timestamp within five minutes; the body is {id, from, fromName?,
// chat?, thread?, text}. Replies are POSTed to the channel's callback URL (after the module's egress
// vetting: `api.base` is that URL), signed the same way, as {channel, inReplyTo?, to, text}.
import { createHmac, randomBytes } from "node:crypto";
import { AppError } from "../../../core/errors.ts";
import { sameSecret } from "../secrets.ts";
import { RetryableSendError, type ChannelKind, type InboundMessage } from "./kind.ts";

export const WEBHOOK_WINDOW_MS = 5 * 60_000;
const ID = /^[A-Za-z0-9_.:@+-]{1,128}$/;

export function signPayload(secret: string, timestamp: string, body: string | Uint8Array): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex")}`;
}

function field(v: unknown, name: string, required: boolean): string | undefined {
  if (v === undefined && !required) return undefined;
  if (typeof v !== "string" || !ID.test(v)) throw new Error(`${name} must be an id of 1-128 letters, digits or _.:@+-`);
  return v;
}

export const webhookKind: ChannelKind = {
  name: "webhook",
  // The secret is shown once, at pairing; list and status show nothing of it.
  maskedFields: [],

  validateCredentials(credentials) {
    const c = (credentials ?? {}) as Record<string, unknown>;
    if (typeof c !== "object" || Array.isArray(c)) throw new AppError("INVALID_PARAMS", "credentials must be an object {secret?}");
    const extra = Object.keys(c).filter((k) => k !== "secret");
    if (extra.length) throw new AppError("INVALID_PARAMS", `credentials.${extra[0]} is not a webhook credential (give secret, or nothing to have one made)`);
    if (c.secret !== undefined && (typeof c.secret !== "string" || c.secret.length < 32 || c.secret.length > 256)) throw new AppError("INVALID_PARAMS", "credentials.secret must be 32 to 256 characters (or left out: the gateway makes one and shows it once)");
    const secret = (c.secret as string | undefined) ?? `whsec_${randomBytes(32).toString("base64url")}`;
    return { secrets: { secret }, facts: {} };
  },

  verify(req, secrets) {
    if (req.method !== "POST") return false;
    const ts = req.headers["x-openclawmu-timestamp"] ?? "";
    const sig = req.headers["x-openclawmu-signature"] ?? "";
    const expected = signPayload(secrets.secret ?? "", ts, req.rawBody);
    // Computed and compared whatever the timestamp, so a stale delivery costs what a fresh one does.
    const good = sameSecret(sig, expected);
    if (!/^\d{1,12}$/.test(ts)) return false;
    return good && Math.abs(req.nowMs - Number(ts) * 1000) <= WEBHOOK_WINDOW_MS;
  },

  handshake: () => null,

  parse(req) {
    const b = JSON.parse(new TextDecoder().decode(req.rawBody)) as Record<string, unknown>;
    if (!b || typeof b !== "object" || Array.isArray(b)) throw new Error("the body must be a JSON object");
    const id = field(b.id, "id", true)!;
    const from = field(b.from, "from", true)!;
    const chat = field(b.chat, "chat", false);
    const thread = field(b.thread, "thread", false);
    if (typeof b.text !== "string" || b.text.length === 0) throw new Error("text must be a non-empty string");
    const msg: InboundMessage = {
      deliveryId: id,
      peerId: from,
      ...(typeof b.fromName === "string" ? { peerName: b.fromName.slice(0, 100) } : {}),
      chat: chat ? { id: chat, type: "group", ...(thread ? { threadId: thread } : {}) } : { id: from, type: "dm" },
      text: b.text,
      // The signed timestamp dates the message (verify() held it to the window): a replay once its inbox row is pruned is refused by it.
      ...(/^\d{1,12}$/.test(req.headers["x-openclawmu-timestamp"] ?? "") ? { sentAtMs: Number(req.headers["x-openclawmu-timestamp"]) * 1000 } : {}),
      replyContext: { inReplyTo: id },
    };
    return [msg];
  },

  ack: (messages) => ({ status: 200, body: JSON.stringify({ accepted: messages.length }), contentType: "application/json" }),

  async send(api, secrets, to, text) {
    const body = JSON.stringify({ ...(to.replyContext?.inReplyTo ? { inReplyTo: to.replyContext.inReplyTo } : {}), to: { chat: to.chatId, ...(to.threadId ? { thread: to.threadId } : {}), ...(to.peerId ? { peer: to.peerId } : {}) }, text });
    const ts = String(Math.floor(Date.now() / 1000));
    const res = await api.fetch(api.base, { method: "POST", headers: { "content-type": "application/json", "x-openclawmu-timestamp": ts, "x-openclawmu-signature": signPayload(secrets.secret ?? "", ts, body) }, body });
    if (res.status === 429 || res.status >= 500) {
      const ra = Number(res.headers.get("retry-after"));
      throw new RetryableSendError(`the callback answered HTTP ${res.status}`, Number.isFinite(ra) && ra > 0 ? ra * 1000 : null);
    }
    if (res.status < 200 || res.status >= 300) throw new Error(`the callback answered HTTP ${res.status}${res.status >= 300 && res.status < 400 ? " (redirects are not followed)" : ""}`);
  },
};
