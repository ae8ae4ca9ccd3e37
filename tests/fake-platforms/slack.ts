// A local stand-in for Slack's Web API and Events API, speaking their documented shapes:
// - Web API at `<base>/<method>` (base ends in /api like https://slack.com/api): token as
//   `Authorization: Bearer xoxb-…`, arguments form-encoded or JSON; answers HTTP 200 `{ok:true, …}` or
//   `{ok:false, error:"invalid_auth" | "channel_not_found" | "no_text" | "msg_too_long"}`; a rate limit is
//   HTTP 429 with `Retry-After: <seconds>`. `auth.test` and `chat.postMessage` are served.
// - Events API deliveries the gateway receives, built and signed as Slack does: `X-Slack-Request-Timestamp`
//   and `X-Slack-Signature: v0=<hex HMAC-SHA256(signingSecret, "v0:<ts>:<body>")>`.
import { createHmac, randomBytes } from "node:crypto";
import { type FakeCall, type Injection, injectionQueue, json, nextId, readBody } from "./injections.ts";

export interface SlackCredentials {
  botToken: string;
  signingSecret: string;
}

export interface FakeSlack {
  /** The API base to configure (`gateway.channels.kinds.slack.apiBase`). */
  base: string;
  /** Credentials the stand-in accepts (pair with these). */
  credentials: SlackCredentials;
  calls: FakeCall[];
  /** Messages posted by chat.postMessage, in order. */
  posted(): { channel: string; text: string; thread_ts?: string }[];
  inject(i: Injection): void;
  /** Headers Slack would send with `body`, signed with `signingSecret` (default: this app's) at `tsSeconds` (default: now). */
  sign(body: string, opts?: { signingSecret?: string; tsSeconds?: number }): Record<string, string>;
  stop(): void;
}

export const SLACK_TEAM = { team: "Fake Team", team_id: "T0FAKE001", user_id: "U0BOT0001", bot_id: "B0BOT0001" } as const;

export function signSlack(signingSecret: string, body: string, tsSeconds = Math.floor(Date.now() / 1000)): Record<string, string> {
  const sig = createHmac("sha256", signingSecret).update(`v0:${tsSeconds}:${body}`).digest("hex");
  return { "content-type": "application/json", "x-slack-request-timestamp": String(tsSeconds), "x-slack-signature": `v0=${sig}` };
}

/** An `event_callback` envelope as Slack posts it. */
export function slackEventCallback(event: Record<string, unknown>, opts: { eventId?: string; teamId?: string } = {}): string {
  return JSON.stringify({
    token: "deprecated-verification-token",
    team_id: opts.teamId ?? SLACK_TEAM.team_id,
    api_app_id: "A0FAKEAPP",
    event: { event_ts: event.ts, ...event },
    type: "event_callback",
    event_id: opts.eventId ?? nextId("Ev"),
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: opts.teamId ?? SLACK_TEAM.team_id, user_id: SLACK_TEAM.user_id, is_bot: true }],
  });
}

const slackTs = () => `${Math.floor(Date.now() / 1000)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, "0")}`;

/** A direct message to the bot (`message.im`). */
export function slackDm(opts: { user: string; text: string; channel?: string; eventId?: string; threadTs?: string; ts?: string }): string {
  return slackEventCallback(
    { type: "message", channel: opts.channel ?? `D${opts.user}`, channel_type: "im", user: opts.user, text: opts.text, ts: opts.ts ?? slackTs(), ...(opts.threadTs ? { thread_ts: opts.threadTs } : {}) },
    { eventId: opts.eventId },
  );
}

/** A mention of the bot in a channel (`app_mention`). */
export function slackMention(opts: { user: string; text: string; channel: string; eventId?: string; threadTs?: string; ts?: string }): string {
  return slackEventCallback(
    { type: "app_mention", channel: opts.channel, user: opts.user, text: `<@${SLACK_TEAM.user_id}> ${opts.text}`, ts: opts.ts ?? slackTs(), ...(opts.threadTs ? { thread_ts: opts.threadTs } : {}) },
    { eventId: opts.eventId },
  );
}

export function slackUrlVerification(challenge: string): string {
  return JSON.stringify({ token: "deprecated-verification-token", challenge, type: "url_verification" });
}

export async function startFakeSlack(opts: Partial<SlackCredentials> = {}): Promise<FakeSlack> {
  const credentials: SlackCredentials = {
    botToken: opts.botToken ?? `xoxb-${randomBytes(8).toString("hex")}-${randomBytes(12).toString("hex")}`,
    signingSecret: opts.signingSecret ?? randomBytes(16).toString("hex"),
  };
  const calls: FakeCall[] = [];
  const q = injectionQueue();

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (!url.pathname.startsWith("/api/") || req.method !== "POST") return json(404, { ok: false, error: "unknown_method" });
      const path = url.pathname.slice(4);
      const body = await readBody(req);
      const call: FakeCall = { method: req.method, path, headers: Object.fromEntries(req.headers.entries()), body, status: 0, ok: false };
      calls.push(call);
      const res = answer(path, body, req);
      call.status = res.status;
      call.ok = res.ok;
      return res.response;
    },
  });

  function answer(path: string, body: any, req: Request): { status: number; ok: boolean; response: Response } {
    const r = (status: number, ok: boolean, response: Response) => ({ status, ok, response });
    const forced = q.take(path);
    if (forced) {
      const headers: Record<string, string> = forced.retryAfter !== undefined ? { "retry-after": String(forced.retryAfter) } : {};
      return r(forced.status, false, forced.status === 429 ? new Response("", { status: 429, headers }) : json(forced.status, { ok: false, error: "fatal_error" }, headers));
    }
    if (req.headers.get("authorization") !== `Bearer ${credentials.botToken}`) return r(200, false, json(200, { ok: false, error: "invalid_auth" }));
    const args = typeof body === "object" && body !== null ? body : {};
    if (path === "/auth.test") return r(200, true, json(200, { ok: true, url: "https://fake-team.slack.com/", team: SLACK_TEAM.team, user: "assistant", team_id: SLACK_TEAM.team_id, user_id: SLACK_TEAM.user_id, bot_id: SLACK_TEAM.bot_id, is_enterprise_install: false }));
    if (path === "/chat.postMessage") {
      if (typeof args.channel !== "string" || args.channel === "") return r(200, false, json(200, { ok: false, error: "channel_not_found" }));
      if (typeof args.text !== "string" || args.text === "") return r(200, false, json(200, { ok: false, error: "no_text" }));
      if (args.text.length > 40_000) return r(200, false, json(200, { ok: false, error: "msg_too_long" }));
      const ts = slackTs();
      return r(200, true, json(200, { ok: true, channel: args.channel, ts, message: { type: "message", user: SLACK_TEAM.user_id, bot_id: SLACK_TEAM.bot_id, text: args.text, ts, ...(args.thread_ts ? { thread_ts: args.thread_ts } : {}) } }));
    }
    return r(200, false, json(200, { ok: false, error: "unknown_method" }));
  }

  return {
    base: `http://127.0.0.1:${server.port}/api`,
    credentials,
    calls,
    posted: () =>
      calls
        .filter((c) => c.path === "/chat.postMessage" && c.ok)
        .map((c) => ({ channel: c.body.channel, text: c.body.text, ...(c.body.thread_ts ? { thread_ts: c.body.thread_ts } : {}) })),
    inject: q.inject,
    sign: (body, o = {}) => signSlack(o.signingSecret ?? credentials.signingSecret, body, o.tsSeconds),
    stop: () => server.stop(true),
  };
}
