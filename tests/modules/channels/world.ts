// A channels world: a gateway listening for real (the platforms POST to it) with the fake provider as
// the model, a Telegram stand-in as the Bot API, a local receiver for webhook callbacks, and the
// channels module configured to reach them. Tenants "alpha" (token `token`) and, if asked, "beta".
import { chatWorld, type ChatWorld } from "../../helpers/chat.ts";
import { createTenant, operatorCtx, scope } from "../../helpers/core.ts";
import { startFakeTelegram, type FakeTelegram } from "../../fake-platforms/telegram.ts";
import { signPayload } from "../../../src/modules/channels/kinds/webhook.ts";

export const SECRET_KEY = "test-channels-secret-key-0123456789";
export const BOT_A = "123456:AAAAaaaaBBBBbbbbCCCCccccDDDDddddEEE";
export const BOT_B = "654321:ZZZZzzzzYYYYyyyyXXXXxxxxWWWWwwwwVVV";

export interface Callback {
  headers: Record<string, string>;
  body: string;
  json: any;
}

export interface ChannelsWorld extends ChatWorld {
  tg: FakeTelegram;
  callbacks: Callback[];
  callbackUrl: string;
  /** Answer the next callbacks with these statuses. */
  callbackStatuses: number[];
  betaToken: string | null;
  pairTelegram(tenant?: string, token?: string, options?: Record<string, unknown>): Promise<any>;
  pairWebhook(tenant?: string, options?: Record<string, unknown>): Promise<any>;
  /** channels.pair over the tenant RPC (POST /rpc) as `tenant`'s token; the JSON-RPC result or error. */
  rpcPair(params: Record<string, unknown>, tenant?: string): Promise<{ result?: any; error?: any }>;
  postSigned(path: string, body: unknown, secret: string, opts?: { timestamp?: number; signature?: string }): Promise<Response>;
  /** Waits until every queued message has been answered. */
  idle(): Promise<void>;
  inbox(tenant: string): any[];
  stop(): Promise<void>;
}

export async function channelsWorld(opts: { beta?: boolean; channels?: Record<string, unknown>; kinds?: Record<string, unknown>; config?: Record<string, any> } = {}): Promise<ChannelsWorld> {
  const tg = startFakeTelegram();
  tg.addBot(BOT_A, "alpha_bot");
  tg.addBot(BOT_B, "beta_bot");
  const callbacks: Callback[] = [];
  const callbackStatuses: number[] = [];
  const receiver = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const body = await req.text();
      const headers: Record<string, string> = {};
      req.headers.forEach((v, k) => (headers[k] = v));
      callbacks.push({ headers, body, json: JSON.parse(body) });
      const status = callbackStatuses.shift() ?? 200;
      return new Response("ok", { status, headers: status === 429 ? { "retry-after": "1" } : {} });
    },
  });
  const base = await chatWorld({
    tenant: "alpha",
    config: {
      ...opts.config,
      gateway: {
        ...opts.config?.gateway,
        channels: {
          secretKey: SECRET_KEY,
          publicBaseUrl: "https://gateway.example",
          kinds: { telegram: { apiBase: tg.base }, webhook: { callbackAllow: ["127.0.0.1:*"] }, ...opts.kinds },
          ...opts.channels,
        },
      },
      sandbox: { egress: { allowPrivate: ["127.0.0.1"] } },
    },
  });
  const betaToken = opts.beta ? createTenant(base.core, "beta") : null;
  const w: ChannelsWorld = {
    ...base,
    tg,
    callbacks,
    callbackStatuses,
    callbackUrl: `http://127.0.0.1:${receiver.port}/hook`,
    betaToken,
    pairTelegram(tenant = "alpha", token = BOT_A, options = {}) {
      return base.core.channels.pair(scope(tenant), { kind: "telegram", credentials: { botToken: token }, options: { dmPolicy: "open", ...options } }, operatorCtx);
    },
    pairWebhook(tenant = "alpha", options = {}) {
      return base.core.channels.pair(scope(tenant), { kind: "webhook", credentials: {}, options: { dmPolicy: "open", callbackUrl: w.callbackUrl, ...options } }, operatorCtx);
    },
    async rpcPair(params, tenant = "alpha") {
      const token = tenant === "alpha" ? base.token : betaToken!;
      const r = await fetch(`${base.gw.url}/rpc`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "channels.pair", params }) });
      return (await r.json()) as { result?: any; error?: any };
    },
    postSigned(path, body, secret, o = {}) {
      const text = JSON.stringify(body);
      const ts = String(o.timestamp ?? Math.floor(Date.now() / 1000));
      return fetch(`${base.gw.url}${path}`, { method: "POST", headers: { "content-type": "application/json", "x-openclawmu-timestamp": ts, "x-openclawmu-signature": o.signature ?? signPayload(secret, ts, text) }, body: text });
    },
    async idle() {
      await Bun.sleep(20);
      await base.core.channelsEngine.dispatcher.idle();
    },
    inbox(tenant) {
      return base.core.handle.sqlite.query("SELECT * FROM channel_inbox WHERE tenant_id = ?1 ORDER BY received_at, rowid").all(tenant);
    },
    async stop() {
      await base.close();
      base.core.close();
      tg.stop();
      receiver.stop(true);
    },
  };
  return w;
}
