// A local stand-in for the WhatsApp Cloud API (Graph API) and its webhooks, in their documented shapes:
// - `GET <base>/<phone-number-id>?fields=…` → `{display_phone_number, verified_name, id}`;
//   `POST <base>/<phone-number-id>/messages` with `Authorization: Bearer <token>` and
//   `{messaging_product:"whatsapp", to, type:"text", text:{body}}` → `{messaging_product, contacts:[{input,
//   wa_id}], messages:[{id:"wamid.…"}]}`. Errors are `{error:{message, type, code, fbtrace_id}}`: 401 code 190
//   for a bad token, 400 code 100 for a bad parameter, 429 code 130429 when throttled.
// - Webhook deliveries the gateway receives: the GET subscription handshake and POSTs of
//   `{object:"whatsapp_business_account", entry:[{id, changes:[{field:"messages", value:{…}}]}]}` signed
//   with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(appSecret, body)>`.
import { createHmac, randomBytes } from "node:crypto";
import { type FakeCall, type Injection, injectionQueue, json, nextId, readBody } from "./injections.ts";

export interface WhatsAppCredentials {
  accessToken: string;
  appSecret: string;
  phoneNumberId: string;
  verifyToken: string;
}

export interface FakeWhatsApp {
  /** The API base to configure (`gateway.channels.kinds.whatsapp.apiBase`), like https://graph.facebook.com/v21.0. */
  base: string;
  credentials: WhatsAppCredentials;
  calls: FakeCall[];
  /** Text messages the API accepted, in order. */
  sent(): { to: string; body: string }[];
  inject(i: Injection): void;
  /** Headers Meta would send with `body`, signed with `appSecret` (default: this app's). */
  sign(body: string, opts?: { appSecret?: string }): Record<string, string>;
  stop(): void;
}

const graphError = (status: number, code: number, message: string, headers: Record<string, string> = {}) =>
  json(status, { error: { message, type: code === 190 ? "OAuthException" : "GraphMethodException", code, fbtrace_id: nextId("A") } }, headers);

export function signWhatsApp(appSecret: string, body: string): Record<string, string> {
  return { "content-type": "application/json", "x-hub-signature-256": `sha256=${createHmac("sha256", appSecret).update(body).digest("hex")}` };
}

/** A delivery carrying one text message from `from` to the business number `phoneNumberId`. */
export function whatsappText(opts: { phoneNumberId: string; from: string; text: string; id?: string; name?: string; timestampSeconds?: number }): string {
  return whatsappDelivery(opts.phoneNumberId, {
    contacts: [{ profile: { name: opts.name ?? "Fake Sender" }, wa_id: opts.from }],
    messages: [{ from: opts.from, id: opts.id ?? `wamid.${nextId()}`, timestamp: String(opts.timestampSeconds ?? Math.floor(Date.now() / 1000)), text: { body: opts.text }, type: "text" }],
  });
}

/** A `messages` change for `phoneNumberId` with the given value fields (messages, statuses, contacts…). */
export function whatsappDelivery(phoneNumberId: string, value: Record<string, unknown>): string {
  return JSON.stringify({
    object: "whatsapp_business_account",
    entry: [
      {
        id: "102290129340398",
        changes: [{ field: "messages", value: { messaging_product: "whatsapp", metadata: { display_phone_number: "15550783881", phone_number_id: phoneNumberId }, ...value } }],
      },
    ],
  });
}

/** The query Meta sends to subscribe the webhook. */
export function whatsappHandshake(verifyToken: string, challenge: string): URLSearchParams {
  return new URLSearchParams({ "hub.mode": "subscribe", "hub.verify_token": verifyToken, "hub.challenge": challenge });
}

export async function startFakeWhatsApp(opts: Partial<WhatsAppCredentials> = {}): Promise<FakeWhatsApp> {
  const credentials: WhatsAppCredentials = {
    accessToken: opts.accessToken ?? `EAAG${randomBytes(40).toString("hex")}`,
    appSecret: opts.appSecret ?? randomBytes(16).toString("hex"),
    phoneNumberId: opts.phoneNumberId ?? String(100_000_000_000_000 + Math.floor(Math.random() * 1e12)),
    verifyToken: opts.verifyToken ?? randomBytes(16).toString("base64url"),
  };
  const calls: FakeCall[] = [];
  const q = injectionQueue();
  const prefix = "/v21.0";

  function answer(path: string, method: string, body: any, req: Request): { ok: boolean; response: Response } {
    const forced = q.take(path);
    if (forced) {
      const headers: Record<string, string> = forced.retryAfter !== undefined ? { "retry-after": String(forced.retryAfter) } : {};
      return { ok: false, response: forced.status === 429 ? graphError(429, 130429, "Rate limit hit", headers) : graphError(forced.status, 1, "An unknown error occurred", headers) };
    }
    if (req.headers.get("authorization") !== `Bearer ${credentials.accessToken}`) return { ok: false, response: graphError(401, 190, "Invalid OAuth access token - Cannot parse access token") };
    const [, id, edge] = path.split("/");
    if (id !== credentials.phoneNumberId) return { ok: false, response: graphError(400, 100, `Unsupported request - object with ID '${String(id).slice(0, 40)}' does not exist`) };
    if (method === "GET" && edge === undefined) return { ok: true, response: json(200, { verified_name: "Fake Business", display_phone_number: "+1 555-078-3881", id }) };
    if (method === "POST" && edge === "messages") {
      const b = typeof body === "object" && body !== null ? body : {};
      if (b.messaging_product !== "whatsapp") return { ok: false, response: graphError(400, 100, "(#100) The parameter messaging_product is required.") };
      if (typeof b.to !== "string" || b.to === "") return { ok: false, response: graphError(400, 100, "(#100) The parameter to is required.") };
      if (b.type !== "text" || typeof b.text?.body !== "string" || b.text.body === "") return { ok: false, response: graphError(400, 100, "(#100) The parameter text['body'] is required.") };
      if (b.text.body.length > 4096) return { ok: false, response: graphError(400, 100, "(#100) Param text['body'] must be at most 4096 characters long.") };
      return { ok: true, response: json(200, { messaging_product: "whatsapp", contacts: [{ input: b.to, wa_id: b.to }], messages: [{ id: `wamid.${nextId()}` }] }) };
    }
    return { ok: false, response: graphError(400, 100, "Unsupported request") };
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (!url.pathname.startsWith(`${prefix}/`)) return graphError(404, 803, "Unknown path components");
      const path = url.pathname.slice(prefix.length);
      const body = req.method === "POST" ? await readBody(req) : null;
      const call: FakeCall = { method: req.method, path, headers: Object.fromEntries(req.headers.entries()), body, status: 0, ok: false };
      calls.push(call);
      const { ok, response } = answer(path, req.method, body, req);
      call.status = response.status;
      call.ok = ok;
      return response;
    },
  });

  return {
    base: `http://127.0.0.1:${server.port}${prefix}`,
    credentials,
    calls,
    sent: () => calls.filter((c) => c.ok && c.path.endsWith("/messages")).map((c) => ({ to: c.body.to, body: c.body.text.body })),
    inject: q.inject,
    sign: (body, o = {}) => signWhatsApp(o.appSecret ?? credentials.appSecret, body),
    stop: () => server.stop(true),
  };
}
