// A local stand-in for Discord's HTTP API (v10) and its interactions endpoint, in their documented shapes:
// - `GET <base>/applications/@me` (`Authorization: Bot <token>`) → the application `{id, name, verify_key, …}`;
//   `POST <base>/applications/<id>/commands` → the command (201 created, 200 when one of that name existed);
//   `POST <base>/webhooks/<application id>/<interaction token>` (no auth header: the token is the
//   authority) → the follow-up message. Errors are `{message, code}` (401 `{message:"401: Unauthorized",
//   code:0}`, 404 Unknown Webhook 10015, 400 Invalid Form Body 50035); a rate limit is HTTP 429
//   `{message, retry_after: <seconds, float>, global}` with a `Retry-After` header.
// - Interactions the gateway receives, signed as Discord signs them: `X-Signature-Ed25519` = hex Ed25519
//   signature over `X-Signature-Timestamp` (unix seconds) + body, with the application's key pair.
import { generateKeyPairSync, randomBytes, sign as edSign } from "node:crypto";
import { type FakeCall, type Injection, injectionQueue, json, readBody } from "./injections.ts";

export interface DiscordCredentials {
  publicKey: string;
  applicationId: string;
  botToken: string;
}

export interface DiscordInteractionOpts {
  userId: string;
  text: string;
  userName?: string;
  /** Absent: a DM with the bot. */
  guildId?: string;
  channelId?: string;
  /** The command is run in a thread of this parent channel. */
  threadParentId?: string;
  /** Default "ask"; the option is named "message". */
  command?: string;
  id?: string;
}

export interface FakeDiscord {
  /** The API base to configure (`gateway.channels.kinds.discord.apiBase`), like https://discord.com/api/v10. */
  base: string;
  credentials: DiscordCredentials;
  calls: FakeCall[];
  /** Follow-ups the API accepted, in order. */
  followUps(): { token: string; content: string; allowedMentions: unknown }[];
  /** Commands registered through the API. */
  commands(): Record<string, unknown>[];
  inject(i: Injection): void;
  /** An APPLICATION_COMMAND interaction (type 2) as Discord posts it; its token is then valid for follow-ups. */
  interaction(opts: DiscordInteractionOpts): { body: string; id: string; token: string };
  /** A PING (type 1), sent when the endpoint URL is saved. */
  ping(): string;
  /** Headers Discord would send with `body`, signed by this application's key (`other`: another application's) at `tsSeconds` (default now). */
  sign(body: string, opts?: { tsSeconds?: number; other?: boolean }): Record<string, string>;
  stop(): void;
}

let snowflakeSeq = 0n;
/** A Discord-shaped snowflake id (ms since the Discord epoch in the high bits). */
export const snowflake = () => String(((BigInt(Date.now()) - 1420070400000n) << 22n) | (++snowflakeSeq & 0x3fffffn));

function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  // The raw key is the last 32 bytes of the SPKI DER encoding (a 12-byte prefix).
  const raw = (publicKey.export({ format: "der", type: "spki" }) as Buffer).subarray(12).toString("hex");
  return { raw, privateKey };
}

export function signDiscord(privateKey: ReturnType<typeof keyPair>["privateKey"], body: string, tsSeconds = Math.floor(Date.now() / 1000)): Record<string, string> {
  const sig = edSign(null, Buffer.from(`${tsSeconds}${body}`), privateKey).toString("hex");
  return { "content-type": "application/json", "x-signature-ed25519": sig, "x-signature-timestamp": String(tsSeconds) };
}

export async function startFakeDiscord(): Promise<FakeDiscord> {
  const keys = keyPair();
  const stranger = keyPair(); // another application's key: its signatures must not verify
  const applicationId = snowflake();
  const credentials: DiscordCredentials = {
    publicKey: keys.raw,
    applicationId,
    botToken: `${Buffer.from(applicationId).toString("base64url")}.${randomBytes(4).toString("base64url")}.${randomBytes(27).toString("base64url")}`,
  };
  const calls: FakeCall[] = [];
  const q = injectionQueue();
  const tokens = new Map<string, number>(); // interaction token → expiry (15 minutes, as Discord)
  const registered = new Map<string, Record<string, unknown>>();
  const prefix = "/api/v10";
  const botAuth = `Bot ${credentials.botToken}`;

  function answer(path: string, method: string, body: any, req: Request): { ok: boolean; response: Response } {
    const forced = q.take(path);
    if (forced) {
      if (forced.status === 429) {
        const after = forced.retryAfter ?? 1;
        return { ok: false, response: json(429, { message: "You are being rate limited.", retry_after: after, global: false }, { "retry-after": String(Math.ceil(after)), "x-ratelimit-scope": "user" }) };
      }
      return { ok: false, response: json(forced.status, { message: "Internal Server Error", code: 0 }) };
    }
    const parts = path.split("/").slice(1);
    if (parts[0] === "webhooks" && method === "POST" && parts.length === 3) {
      const expiry = tokens.get(decodeURIComponent(parts[2]!));
      if (parts[1] !== applicationId || expiry === undefined || expiry < Date.now()) return { ok: false, response: json(404, { message: "Unknown Webhook", code: 10015 }) };
      const content = typeof body?.content === "string" ? body.content : "";
      if (content === "" || content.length > 2000) {
        const why = content === "" ? { code: "BASE_TYPE_REQUIRED", message: "This field is required" } : { code: "BASE_TYPE_MAX_LENGTH", message: "Must be 2000 or fewer in length." };
        return { ok: false, response: json(400, { message: "Invalid Form Body", code: 50035, errors: { content: { _errors: [why] } } }) };
      }
      return { ok: true, response: json(200, { id: snowflake(), type: 0, content, channel_id: snowflake(), author: { id: applicationId, username: "assistant", bot: true }, timestamp: new Date().toISOString(), flags: 0, webhook_id: applicationId }) };
    }
    if (req.headers.get("authorization") !== botAuth) return { ok: false, response: json(401, { message: "401: Unauthorized", code: 0 }) };
    if (parts[0] === "applications" && parts[1] === "@me" && parts.length === 2 && method === "GET") {
      return { ok: true, response: json(200, { id: applicationId, name: "Fake Assistant", icon: null, description: "", bot_public: true, bot_require_code_grant: false, verify_key: keys.raw, flags: 0 }) };
    }
    if (parts[0] === "applications" && parts[2] === "commands" && parts.length === 3 && method === "POST") {
      if (parts[1] !== applicationId) return { ok: false, response: json(403, { message: "Missing Access", code: 50001 }) };
      if (typeof body?.name !== "string" || !/^[-_\p{L}\p{N}]{1,32}$/u.test(body.name) || typeof body.description !== "string") return { ok: false, response: json(400, { message: "Invalid Form Body", code: 50035 }) };
      const existed = registered.has(body.name);
      const cmd = { id: snowflake(), application_id: applicationId, version: snowflake(), default_member_permissions: null, type: body.type ?? 1, name: body.name, description: body.description, options: body.options ?? [] };
      registered.set(body.name, cmd);
      return { ok: true, response: json(existed ? 200 : 201, cmd) };
    }
    return { ok: false, response: json(404, { message: "404: Not Found", code: 0 }) };
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (!url.pathname.startsWith(`${prefix}/`)) return json(404, { message: "404: Not Found", code: 0 });
      const path = url.pathname.slice(prefix.length);
      const body = req.method === "POST" || req.method === "PATCH" ? await readBody(req) : null;
      const call: FakeCall = { method: req.method, path, headers: Object.fromEntries(req.headers.entries()), body, status: 0, ok: false };
      calls.push(call);
      const { ok, response } = answer(path, req.method, body, req);
      call.status = response.status;
      call.ok = ok;
      return response;
    },
  });

  function interaction(o: DiscordInteractionOpts) {
    const id = o.id ?? snowflake();
    const token = `aW50ZXJhY3Rpb246${randomBytes(48).toString("base64url")}`;
    tokens.set(token, Date.now() + 15 * 60_000);
    const user = { id: o.userId, username: o.userName ?? `user${o.userId.slice(-4)}`, global_name: o.userName ?? null, discriminator: "0", avatar: null };
    const channelId = o.channelId ?? snowflake();
    const channel = o.threadParentId ? { id: channelId, type: 11, parent_id: o.threadParentId, guild_id: o.guildId } : { id: channelId, type: o.guildId ? 0 : 1 };
    const body = {
      app_permissions: "0",
      application_id: applicationId,
      type: 2,
      data: { id: snowflake(), name: o.command ?? "ask", type: 1, options: [{ name: "message", type: 3, value: o.text }] },
      channel,
      channel_id: channelId,
      ...(o.guildId ? { guild_id: o.guildId, member: { user, roles: [], joined_at: new Date().toISOString(), nick: null } } : { user }),
      context: o.guildId ? 0 : 1,
      id,
      token,
      locale: "en-US",
      version: 1,
    };
    return { body: JSON.stringify(body), id, token };
  }

  return {
    base: `http://127.0.0.1:${server.port}${prefix}`,
    credentials,
    calls,
    followUps: () =>
      calls
        .filter((c) => c.ok && c.path.startsWith("/webhooks/"))
        .map((c) => ({ token: decodeURIComponent(c.path.split("/")[3]!), content: c.body.content, allowedMentions: c.body.allowed_mentions })),
    commands: () => [...registered.values()],
    inject: q.inject,
    interaction,
    ping: () => JSON.stringify({ app_permissions: "0", application_id: applicationId, id: snowflake(), token: randomBytes(32).toString("base64url"), type: 1, user: { id: snowflake(), username: "discord" }, version: 1 }),
    sign: (body, o = {}) => signDiscord(o.other ? stranger.privateKey : keys.privateKey, body, o.tsSeconds),
    stop: () => server.stop(true),
  };
}
