// The slack kind against the local Slack stand-in: signing-secret verification (v0 HMAC, 5-minute
// window), url_verification, the Events API shapes it takes and ignores, chat.postMessage in threads,
// splitting, escaping, and 429/5xx as retryable with Slack's Retry-After.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AppError } from "../../../../src/core/errors.ts";
import { RetryableSendError } from "../../../../src/modules/channels/kinds/kind.ts";
import { SLACK_MAX_TEXT, slackKind } from "../../../../src/modules/channels/kinds/slack.ts";
import { type FakeSlack, signSlack, slackDm, slackEventCallback, slackMention, slackUrlVerification, startFakeSlack } from "../../../fake-platforms/slack.ts";
import { api, inbound, rejection, thrown } from "./inbound.ts";

let fake: FakeSlack;
let secrets: Record<string, string>;
beforeAll(async () => {
  fake = await startFakeSlack();
  secrets = slackKind.validateCredentials(fake.credentials).secrets;
});
afterAll(() => fake.stop());

describe("slack credentials", () => {
  test("a bot token and signing secret are kept as secrets, both masked", () => {
    const v = slackKind.validateCredentials({ ...fake.credentials, extra: "ignored" });
    expect(v.secrets).toEqual({ botToken: fake.credentials.botToken, signingSecret: fake.credentials.signingSecret });
    expect(slackKind.maskedFields).toEqual(["botToken", "signingSecret"]);
  });

  test.each([
    [{ signingSecret: "a".repeat(32) }, "credentials.botToken"],
    [{ botToken: "xoxp-user-token-not-a-bot-0000", signingSecret: "a".repeat(32) }, "credentials.botToken"],
    [{ botToken: "xoxb-1234567890-abcdef" }, "credentials.signingSecret"],
    [{ botToken: "xoxb-1234567890-abcdef", signingSecret: "short" }, "credentials.signingSecret"],
    [null, "credentials"],
    ["xoxb-1234567890-abcdef", "credentials"],
  ])("%j is refused naming %s", (creds, name) => {
    const err = thrown(() => slackKind.validateCredentials(creds));
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("INVALID_PARAMS");
    expect(err.message.startsWith(`${name}:`)).toBe(true);
  });
});

describe("slack verify", () => {
  const body = slackDm({ user: "U1", text: "hello" });

  test("a delivery signed with the channel's signing secret is accepted", () => {
    expect(slackKind.verify(inbound(body, fake.sign(body)), secrets)).toBe(true);
  });

  test("a tampered body, another channel's secret, a missing or malformed signature are refused", () => {
    const h = fake.sign(body);
    expect(slackKind.verify(inbound(body.replace("hello", "hellO"), h), secrets)).toBe(false);
    expect(slackKind.verify(inbound(body, signSlack("b".repeat(32), body)), secrets)).toBe(false);
    expect(slackKind.verify(inbound(body, { "x-slack-request-timestamp": h["x-slack-request-timestamp"]! }), secrets)).toBe(false);
    expect(slackKind.verify(inbound(body, { "x-slack-signature": h["x-slack-signature"]! }), secrets)).toBe(false);
    expect(slackKind.verify(inbound(body, { ...h, "x-slack-signature": h["x-slack-signature"]!.replace("v0=", "v1=") }), secrets)).toBe(false);
    expect(slackKind.verify(inbound(body, { ...h, "x-slack-signature": "v0=" }), secrets)).toBe(false);
    expect(slackKind.verify(inbound(body, h, { method: "GET" }), secrets)).toBe(false);
  });

  test("a timestamp outside five minutes either way is refused, even correctly signed", () => {
    const now = Date.now();
    const ts = Math.floor(now / 1000);
    expect(slackKind.verify(inbound(body, fake.sign(body, { tsSeconds: ts - 290 }), { nowMs: now }), secrets)).toBe(true);
    expect(slackKind.verify(inbound(body, fake.sign(body, { tsSeconds: ts - 301 }), { nowMs: now }), secrets)).toBe(false);
    expect(slackKind.verify(inbound(body, fake.sign(body, { tsSeconds: ts + 301 }), { nowMs: now }), secrets)).toBe(false);
  });

  test("the timestamp is part of what is signed: a fresh timestamp on an old signature is refused", () => {
    const now = Date.now();
    const old = fake.sign(body, { tsSeconds: Math.floor(now / 1000) - 3600 });
    const replay = { ...old, "x-slack-request-timestamp": String(Math.floor(now / 1000)) };
    expect(slackKind.verify(inbound(body, replay, { nowMs: now }), secrets)).toBe(false);
  });
});

describe("slack handshake and parse", () => {
  test("url_verification is answered with its challenge", () => {
    const body = slackUrlVerification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
    const r = slackKind.handshake(inbound(body, fake.sign(body)), secrets);
    expect(r?.status).toBe(200);
    expect(JSON.parse(r!.body)).toEqual({ challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" });
    const msg = slackDm({ user: "U1", text: "hi" });
    expect(slackKind.handshake(inbound(msg, fake.sign(msg)), secrets)).toBeNull();
  });

  test("a direct message becomes a DM message keyed by its event_id", () => {
    const body = slackDm({ user: "U123", text: "what time is it?", channel: "D999", eventId: "Ev0001", ts: "1700000000.000100" });
    const [m, ...rest] = slackKind.parse(inbound(body, {}), secrets);
    expect(rest).toHaveLength(0);
    expect(m).toEqual({ deliveryId: "Ev0001", peerId: "U123", chat: { id: "D999", type: "dm" }, text: "what time is it?", sentAtMs: 1700000000000 });
  });

  test("a mention in a channel becomes a group message answered in a thread under it; in a thread, in that thread", () => {
    const top = slackKind.parse(inbound(slackMention({ user: "U1", text: "summarise", channel: "C42", ts: "1700000001.000200" }), {}), secrets);
    expect(top[0]!.chat).toEqual({ id: "C42", type: "group", threadId: "1700000001.000200" });
    expect(top[0]!.replyContext).toEqual({ threadTs: "1700000001.000200" });
    const inThread = slackKind.parse(inbound(slackMention({ user: "U1", text: "more", channel: "C42", threadTs: "1700000001.000200" }), {}), secrets);
    expect(inThread[0]!.chat.threadId).toBe("1700000001.000200");
    const dmThread = slackKind.parse(inbound(slackDm({ user: "U1", text: "x", threadTs: "1700000002.000300" }), {}), secrets);
    expect(dmThread[0]!.chat).toEqual({ id: "DU1", type: "dm", threadId: "1700000002.000300" });
  });

  test("bot messages, edits and other subtypes, channel messages (the mention comes separately) and other events carry nothing", () => {
    const none = (event: Record<string, unknown>) => slackKind.parse(inbound(slackEventCallback(event), {}), secrets);
    expect(none({ type: "message", channel_type: "im", channel: "D1", user: "U1", text: "echo", ts: "1.0", bot_id: "B1" })).toEqual([]);
    expect(none({ type: "message", channel_type: "im", channel: "D1", user: "U1", text: "x", ts: "1.0", subtype: "message_changed" })).toEqual([]);
    expect(none({ type: "message", channel_type: "channel", channel: "C1", user: "U1", text: "<@U0BOT0001> hi", ts: "1.0" })).toEqual([]);
    expect(none({ type: "reaction_added", user: "U1", reaction: "thumbsup", item: {} })).toEqual([]);
    expect(slackKind.parse(inbound(JSON.stringify({ type: "app_rate_limited", minute_rate_limited: 1 }), {}), secrets)).toEqual([]);
  });

  test("a malformed body throws", () => {
    expect(() => slackKind.parse(inbound("{not json", {}), secrets)).toThrow();
    expect(() => slackKind.parse(inbound(JSON.stringify({ type: "event_callback", event: {} }), {}), secrets)).toThrow();
  });

  test("ack is a plain 200", () => {
    expect(slackKind.ack([]).status).toBe(200);
  });
});

describe("slack send", () => {
  test("chat.postMessage with the bot token, in the thread, with &, <, > escaped", async () => {
    const before = fake.posted().length;
    await slackKind.send(api(fake.base), secrets, { chatId: "C42", threadId: "1.0", replyContext: { threadTs: "1700000001.000200" } }, "hi <!channel> & <@U1>");
    const posted = fake.posted().slice(before);
    expect(posted).toEqual([{ channel: "C42", text: "hi &lt;!channel&gt; &amp; &lt;@U1&gt;", thread_ts: "1700000001.000200" }]);
    expect(fake.calls.at(-1)!.headers.authorization).toBe(`Bearer ${fake.credentials.botToken}`);
  });

  test("a DM reply outside a thread has no thread_ts", async () => {
    const before = fake.posted().length;
    await slackKind.send(api(fake.base), secrets, { chatId: "D9" }, "plain");
    expect(fake.posted().slice(before)).toEqual([{ channel: "D9", text: "plain" }]);
  });

  test("a long answer is split into messages of at most 4000 characters, in order, nothing lost", async () => {
    const before = fake.posted().length;
    const text = Array.from({ length: 1500 }, (_, i) => `word${i}`).join(" ");
    await slackKind.send(api(fake.base), secrets, { chatId: "D9" }, text);
    const pieces = fake.posted().slice(before).map((p) => p.text);
    expect(pieces.length).toBeGreaterThan(1);
    for (const p of pieces) expect(p.length).toBeLessThanOrEqual(SLACK_MAX_TEXT);
    expect(pieces.join(" ")).toBe(text);
  });

  test("429 is retryable after Slack's Retry-After; 5xx retryable; a platform error is final; the token never shows", async () => {
    fake.inject({ status: 429, retryAfter: 7, path: "/chat.postMessage" });
    const limited = await rejection(slackKind.send(api(fake.base), secrets, { chatId: "D9" }, "x"));
    expect(limited).toBeInstanceOf(RetryableSendError);
    expect((limited as RetryableSendError).retryAfterMs).toBe(7000);

    fake.inject({ status: 503, path: "/chat.postMessage" });
    const down = await rejection(slackKind.send(api(fake.base), secrets, { chatId: "D9" }, "x"));
    expect(down).toBeInstanceOf(RetryableSendError);
    expect((down as RetryableSendError).retryAfterMs).toBeNull();

    const bad = await rejection(slackKind.send(api(fake.base), { ...secrets, botToken: "xoxb-0000000000-revoked" }, { chatId: "D9" }, "x"));
    expect(bad).not.toBeInstanceOf(RetryableSendError);
    expect(bad.message).toContain("invalid_auth");
    for (const e of [limited, down, bad]) expect(e.message).not.toContain(secrets.botToken!);
  });

  test("an unreachable API is retryable; the API base is the only host called", async () => {
    const e = await rejection(slackKind.send(api("http://127.0.0.1:1/api"), secrets, { chatId: "D9" }, "x"));
    expect(e).toBeInstanceOf(RetryableSendError);
    const seen: string[] = [];
    const spy: typeof fetch = Object.assign((u: string | URL | Request, i?: RequestInit) => (seen.push(String(u)), fetch(u, i)), { preconnect: fetch.preconnect });
    await slackKind.send({ base: fake.base, fetch: spy }, secrets, { chatId: "D9" }, "x");
    expect(seen).toEqual([`${fake.base}/chat.postMessage`]);
  });
});

describe("slack pairing", () => {
  test("auth.test proves the token and names the team", async () => {
    expect(await slackKind.onPair!(api(fake.base), secrets, null)).toEqual({ team: "Fake Team", teamId: "T0FAKE001", botUserId: "U0BOT0001" });
  });

  test("a refused token is a validation error naming botToken", async () => {
    const e = await rejection(slackKind.onPair!(api(fake.base), { ...secrets, botToken: "xoxb-0000000000-revoked" }, null));
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe("INVALID_PARAMS");
    expect(e.message).toStartWith("credentials.botToken:");
  });
});
