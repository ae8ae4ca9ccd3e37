// WhatsApp through the Cloud API. Subscribing the webhook: Meta sends GET
// `?hub.mode=subscribe&hub.verify_token=<the token the tenant chose>&hub.challenge=<n>` and expects the
// challenge back as plain text — `verify` accepts a GET only when the verify token matches. Every
// delivery is a POST with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(appSecret, raw body)>`.
// The payload is `{object:"whatsapp_business_account", entry:[{changes:[{field:"messages",
// value:{metadata:{phone_number_id}, contacts:[{wa_id, profile:{name}}], messages:[{from, id,
// timestamp, type, text:{body}}]}}]}]}`; only text messages addressed to this channel's phone number
// are taken (one app secret may sign for several numbers, paired as different channels). Status
// updates (sent/delivered/read) carry no messages and are acknowledged without work. The signature has
// no timestamp: replays are refused by the module's record of message ids, and `sentAtMs` lets it
// refuse a message older than that record.
// Outbound: POST {apiBase}/{phoneNumberId}/messages with the access token as a Bearer, a text of at most
// 4096 characters per message.
import { AppError } from "../../../core/errors.ts";
import { equalSecret, hmacSha256Hex } from "../../../lib/constant-time.ts";
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

export const WHATSAPP_MAX_TEXT = 4096;
/** Graph error codes for throttling (app, account, pair rate, throughput), returned with HTTP 400 or 429. */
const THROTTLED = new Set([4, 80007, 130429, 131048, 131056]);

function field(c: Record<string, unknown>, name: string, re: RegExp, what: string): string {
  const v = c[name];
  if (typeof v !== "string" || !re.test(v)) throw new AppError("INVALID_PARAMS", `credentials.${name}: ${what}`);
  return v;
}

function retryAfterMs(res: Response): number | null {
  const s = Number(res.headers.get("retry-after"));
  return Number.isFinite(s) && s >= 0 ? Math.round(s * 1000) : null;
}

async function graphError(res: Response, what: string): Promise<Error> {
  let code: number | undefined;
  let message = "";
  try {
    const body = (await res.json()) as { error?: { code?: number; message?: string } };
    code = typeof body.error?.code === "number" ? body.error.code : undefined;
    message = typeof body.error?.message === "string" ? body.error.message.slice(0, 200) : "";
  } catch {
    // not JSON: the status says enough
  }
  const text = `whatsapp ${what}: HTTP ${res.status}${code !== undefined ? ` code ${code}` : ""}${message ? ` (${message})` : ""}`;
  if (res.status === 429 || res.status >= 500 || (code !== undefined && THROTTLED.has(code))) return new RetryableSendError(text, retryAfterMs(res));
  return new Error(text);
}

export const whatsappKind: ChannelKind = {
  name: "whatsapp",
  maskedFields: ["accessToken", "appSecret", "verifyToken"],

  validateCredentials(credentials) {
    if (typeof credentials !== "object" || credentials === null || Array.isArray(credentials)) throw new AppError("INVALID_PARAMS", "credentials: expected an object with accessToken, appSecret, phoneNumberId and verifyToken");
    const c = credentials as Record<string, unknown>;
    const accessToken = field(c, "accessToken", /^[A-Za-z0-9_\-.|]{20,1024}$/, "expected a Graph API access token");
    const appSecret = field(c, "appSecret", /^[A-Za-z0-9]{16,128}$/, "expected the Meta app secret (16–128 letters and digits)");
    const phoneNumberId = field(c, "phoneNumberId", /^\d{1,30}$/, "expected the phone number id (digits)");
    const verifyToken = field(c, "verifyToken", /^[\x21-\x7e]{16,200}$/, "expected a verify token of 16–200 printable characters (no spaces)");
    return { secrets: { accessToken, appSecret, phoneNumberId, verifyToken }, facts: { phoneNumberId } };
  },

  verify(req, secrets) {
    if (req.method === "GET") {
      if (req.query.get("hub.mode") !== "subscribe") return false;
      const challenge = req.query.get("hub.challenge") ?? "";
      if (!/^[\x21-\x7e]{1,200}$/.test(challenge)) return false;
      return equalSecret(req.query.get("hub.verify_token") ?? "", secrets.verifyToken ?? "");
    }
    const sig = req.headers["x-hub-signature-256"] ?? "";
    if (!sig.startsWith("sha256=")) return false;
    return equalSecret(sig, `sha256=${hmacSha256Hex(secrets.appSecret ?? "", req.rawBody)}`);
  },

  handshake(req): DirectResponse | null {
    if (req.method !== "GET") return null;
    // verify() already required mode=subscribe, the verify token and a printable challenge.
    return { status: 200, body: req.query.get("hub.challenge") ?? "", contentType: "text/plain" };
  },

  parse(req, secrets): InboundMessage[] {
    const body = JSON.parse(new TextDecoder().decode(req.rawBody)) as Record<string, any>;
    if (typeof body !== "object" || body === null || !Array.isArray(body.entry)) throw new Error("whatsapp: expected {entry: [...]}");
    if (body.object !== "whatsapp_business_account") return [];
    const out: InboundMessage[] = [];
    for (const entry of body.entry) {
      if (!Array.isArray(entry?.changes)) continue;
      for (const change of entry.changes) {
        const value = change?.value;
        if (change?.field !== "messages" || typeof value !== "object" || value === null) continue;
        if (value.metadata?.phone_number_id !== secrets.phoneNumberId) continue;
        const names = new Map<string, string>();
        for (const c of Array.isArray(value.contacts) ? value.contacts : []) {
          if (typeof c?.wa_id === "string" && typeof c?.profile?.name === "string") names.set(c.wa_id, c.profile.name.slice(0, 200));
        }
        for (const m of Array.isArray(value.messages) ? value.messages : []) {
          if (m?.type !== "text" || typeof m.text?.body !== "string" || typeof m.from !== "string" || typeof m.id !== "string") continue;
          const sentAt = Number(m.timestamp);
          const name = names.get(m.from);
          out.push({
            deliveryId: m.id,
            peerId: m.from,
            ...(name ? { peerName: name } : {}),
            chat: { id: m.from, type: "dm" },
            text: m.text.body,
            ...(Number.isFinite(sentAt) && sentAt > 0 ? { sentAtMs: sentAt * 1000 } : {}),
          });
        }
      }
    }
    return out;
  },

  ack(): DirectResponse {
    return { status: 200, body: "" };
  },

  async send(api: PlatformApi, secrets: ChannelSecrets, to: ReplyTarget, text: string): Promise<void> {
    if (text.trim() === "") throw new Error("whatsapp messages: the reply is empty");
    const url = `${api.base.replace(/\/+$/, "")}/${encodeURIComponent(secrets.phoneNumberId ?? "")}/messages`;
    for (const piece of splitText(text, WHATSAPP_MAX_TEXT)) {
      let res: Response;
      try {
        res = await api.fetch(url, {
          method: "POST",
          headers: { authorization: `Bearer ${secrets.accessToken}`, "content-type": "application/json" },
          body: JSON.stringify({ messaging_product: "whatsapp", recipient_type: "individual", to: to.chatId, type: "text", text: { preview_url: false, body: piece } }),
          redirect: "error",
        });
      } catch {
        throw new RetryableSendError("whatsapp messages: request failed", null);
      }
      if (!res.ok) throw await graphError(res, "messages");
      await res.body?.cancel();
    }
  },

  async onPair(api, secrets) {
    // The phone number's own node: proves the token can act for this number before anything is stored.
    const url = `${api.base.replace(/\/+$/, "")}/${encodeURIComponent(secrets.phoneNumberId ?? "")}?fields=display_phone_number,verified_name`;
    let res: Response;
    try {
      res = await api.fetch(url, { headers: { authorization: `Bearer ${secrets.accessToken}` }, redirect: "error" });
    } catch {
      throw new AppError("UPSTREAM_ERROR", "whatsapp: the Graph API could not be reached");
    }
    if (!res.ok) {
      const e = await graphError(res, "phone number");
      throw new AppError(e instanceof RetryableSendError ? "UPSTREAM_ERROR" : "INVALID_PARAMS", `credentials.accessToken: ${e.message}`);
    }
    const b = (await res.json().catch(() => ({}))) as { display_phone_number?: unknown; verified_name?: unknown };
    return {
      ...(typeof b.display_phone_number === "string" ? { displayPhoneNumber: b.display_phone_number.slice(0, 40) } : {}),
      ...(typeof b.verified_name === "string" ? { verifiedName: b.verified_name.slice(0, 100) } : {}),
    };
  },
};
