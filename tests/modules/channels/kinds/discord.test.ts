// The discord kind against the local Discord stand-in: Ed25519 over timestamp + body with the
// application's public key (and the timestamp window), PING → PONG, the interaction shapes (DM, guild
// channel, thread), the deferred acknowledgement, follow-ups on the interaction webhook split at 2000
// characters with mentions disabled, 429 with retry_after, and pairing checks of the bot token.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AppError } from "../../../../src/core/errors.ts";
import { DISCORD_MAX_TEXT, discordKind } from "../../../../src/modules/channels/kinds/discord.ts";
import { RetryableSendError } from "../../../../src/modules/channels/kinds/kind.ts";
import { type FakeDiscord, startFakeDiscord } from "../../../fake-platforms/discord.ts";
import { api, inbound, rejection, thrown } from "./inbound.ts";

let fake: FakeDiscord;
let other: FakeDiscord;
let secrets: Record<string, string>;
beforeAll(async () => {
  fake = await startFakeDiscord();
  other = await startFakeDiscord();
  secrets = discordKind.validateCredentials(fake.credentials).secrets;
});
afterAll(() => {
  fake.stop();
  other.stop();
});

const parsed = (body: string) => discordKind.parse(inbound(body, {}), secrets);

describe("discord credentials", () => {
  test("the public key, application id and bot token are kept; only the token is a masked secret", () => {
    const v = discordKind.validateCredentials({ ...fake.credentials, publicKey: fake.credentials.publicKey.toUpperCase() });
    expect(v.secrets).toEqual({ ...fake.credentials });
    expect(v.facts).toEqual({ applicationId: fake.credentials.applicationId });
    expect(discordKind.maskedFields).toEqual(["botToken"]);
  });

  test.each([
    ["publicKey", "abc"],
    ["publicKey", "z".repeat(64)],
    ["applicationId", "my-app"],
    ["botToken", "short"],
    ["botToken", undefined],
  ])("a bad %s (%p) is refused naming it", (name, value) => {
    const err = thrown(() => discordKind.validateCredentials({ ...fake.credentials, [name]: value }));
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("INVALID_PARAMS");
    expect(err.message).toStartWith(`credentials.${name}:`);
  });
});

describe("discord verify and handshake", () => {
  test("an interaction signed by the application's key is accepted", () => {
    const { body } = fake.interaction({ userId: "80351110224678912", text: "hi" });
    expect(discordKind.verify(inbound(body, fake.sign(body)), secrets)).toBe(true);
  });

  test("a tampered body or timestamp, another application's key, a missing or malformed signature are refused", () => {
    const { body } = fake.interaction({ userId: "1", text: "hi" });
    const h = fake.sign(body);
    expect(discordKind.verify(inbound(body.replace('"hi"', '"ho"'), h), secrets)).toBe(false);
    expect(discordKind.verify(inbound(body, { ...h, "x-signature-timestamp": String(Number(h["x-signature-timestamp"]) - 1) }), secrets)).toBe(false);
    expect(discordKind.verify(inbound(body, fake.sign(body, { other: true })), secrets)).toBe(false);
    expect(discordKind.verify(inbound(body, other.sign(body)), secrets)).toBe(false);
    expect(discordKind.verify(inbound(body, { "x-signature-timestamp": h["x-signature-timestamp"]! }), secrets)).toBe(false);
    expect(discordKind.verify(inbound(body, { ...h, "x-signature-ed25519": "00".repeat(64) }), secrets)).toBe(false);
    expect(discordKind.verify(inbound(body, { ...h, "x-signature-ed25519": "not-hex" }), secrets)).toBe(false);
    expect(discordKind.verify(inbound(body, h, { method: "GET" }), secrets)).toBe(false);
  });

  test("a correctly signed interaction older or newer than five minutes is refused", () => {
    const { body } = fake.interaction({ userId: "1", text: "hi" });
    const now = Date.now();
    const ts = Math.floor(now / 1000);
    expect(discordKind.verify(inbound(body, fake.sign(body, { tsSeconds: ts - 290 }), { nowMs: now }), secrets)).toBe(true);
    expect(discordKind.verify(inbound(body, fake.sign(body, { tsSeconds: ts - 301 }), { nowMs: now }), secrets)).toBe(false);
    expect(discordKind.verify(inbound(body, fake.sign(body, { tsSeconds: ts + 301 }), { nowMs: now }), secrets)).toBe(false);
  });

  test("PING is answered PONG; a command is not a handshake", () => {
    const ping = fake.ping();
    expect(discordKind.handshake(inbound(ping, fake.sign(ping)), secrets)).toEqual({ status: 200, body: '{"type":1}', contentType: "application/json" });
    const { body } = fake.interaction({ userId: "1", text: "hi" });
    expect(discordKind.handshake(inbound(body, {}), secrets)).toBeNull();
  });
});

describe("discord parse and ack", () => {
  test("/ask in a DM becomes a DM message keyed by the interaction id, with the token to answer it", () => {
    const { body, id, token } = fake.interaction({ userId: "42", userName: "ana", text: "what's up?" });
    expect(parsed(body)).toEqual([
      { deliveryId: id, peerId: "42", peerName: "ana", chat: { id: JSON.parse(body).channel_id, type: "dm" }, text: "what's up?", replyContext: { applicationId: secrets.applicationId!, interactionToken: token } },
    ]);
  });

  test("in a guild channel it is a group message of that channel; in a thread, the parent with the thread apart", () => {
    const inChannel = parsed(fake.interaction({ userId: "42", text: "q", guildId: "G1", channelId: "C1" }).body)[0]!;
    expect(inChannel.chat).toEqual({ id: "C1", type: "group" });
    expect(inChannel.peerId).toBe("42");
    const inThread = parsed(fake.interaction({ userId: "42", text: "q", guildId: "G1", channelId: "T9", threadParentId: "C1" }).body)[0]!;
    expect(inThread.chat).toEqual({ id: "C1", type: "group", threadId: "T9" });
  });

  test("another application's interaction, other interaction types and a command without text carry nothing", () => {
    expect(parsed(other.interaction({ userId: "1", text: "not for us" }).body)).toEqual([]);
    expect(parsed(fake.ping())).toEqual([]);
    const component = { ...JSON.parse(fake.interaction({ userId: "1", text: "x" }).body), type: 3, data: { custom_id: "b", component_type: 2 } };
    expect(parsed(JSON.stringify(component))).toEqual([]);
    const empty = { ...JSON.parse(fake.interaction({ userId: "1", text: "x" }).body), data: { id: "1", name: "ask", type: 1, options: [] } };
    expect(parsed(JSON.stringify(empty))).toEqual([]);
  });

  test("a subcommand's string option is found", () => {
    const i = JSON.parse(fake.interaction({ userId: "1", text: "x" }).body);
    i.data.options = [{ type: 1, name: "agent", options: [{ type: 4, name: "n", value: 3 }, { type: 3, name: "prompt", value: "nested" }] }];
    expect(parsed(JSON.stringify(i))[0]!.text).toBe("nested");
  });

  test("a malformed body throws", () => {
    expect(() => parsed("[")).toThrow();
    expect(() => parsed(JSON.stringify({ type: 2, application_id: secrets.applicationId }))).toThrow();
  });

  test("a command is acknowledged deferred (type 5); nothing to ask gets an ephemeral note, not a deferral left hanging", () => {
    const m = parsed(fake.interaction({ userId: "1", text: "q" }).body);
    expect(JSON.parse(discordKind.ack(m).body)).toEqual({ type: 5 });
    const note = JSON.parse(discordKind.ack([]).body);
    expect(note.type).toBe(4);
    expect(note.data.flags).toBe(64);
  });
});

describe("discord send", () => {
  test("a follow-up on the interaction's webhook, mentions disabled, no bot token sent", async () => {
    const [m] = parsed(fake.interaction({ userId: "1", text: "q" }).body);
    await discordKind.send(api(fake.base), secrets, { chatId: m!.chat.id, replyContext: m!.replyContext }, "hello @everyone");
    const call = fake.calls.at(-1)!;
    expect(call.path).toBe(`/webhooks/${secrets.applicationId}/${m!.replyContext!.interactionToken}`);
    expect(call.body).toEqual({ content: "hello @everyone", allowed_mentions: { parse: [] } });
    expect(call.headers.authorization).toBeUndefined();
    expect(call.ok).toBe(true);
  });

  test("the application is always the channel's own, whatever the reply context names", async () => {
    const [m] = parsed(fake.interaction({ userId: "1", text: "q" }).body);
    const before = fake.calls.length;
    await discordKind.send(api(fake.base), secrets, { chatId: "c", replyContext: { ...m!.replyContext, applicationId: "999999999999999999" } }, "x");
    expect(fake.calls.slice(before).map((c) => c.path.split("/")[2])).toEqual([secrets.applicationId!]);
  });

  test("a long answer is split at 2000 characters, in order, nothing lost", async () => {
    const [m] = parsed(fake.interaction({ userId: "1", text: "q" }).body);
    const before = fake.followUps().length;
    const text = "x".repeat(4500);
    await discordKind.send(api(fake.base), secrets, { chatId: "c", replyContext: m!.replyContext }, text);
    const pieces = fake.followUps().slice(before).map((f) => f.content);
    expect(pieces.map((p) => p.length)).toEqual([DISCORD_MAX_TEXT, DISCORD_MAX_TEXT, 500]);
    expect(pieces.join("")).toBe(text);
  });

  test("429 is retryable after the JSON retry_after (seconds, fractional); 5xx retryable; an unknown token is final", async () => {
    const [m] = parsed(fake.interaction({ userId: "1", text: "q" }).body);
    const to = { chatId: "c", replyContext: m!.replyContext };
    fake.inject({ status: 429, retryAfter: 1.25 });
    const limited = await rejection(discordKind.send(api(fake.base), secrets, to, "x"));
    expect(limited).toBeInstanceOf(RetryableSendError);
    expect((limited as RetryableSendError).retryAfterMs).toBe(1250);
    fake.inject({ status: 502 });
    expect(await rejection(discordKind.send(api(fake.base), secrets, to, "x"))).toBeInstanceOf(RetryableSendError);
    const unknown = await rejection(discordKind.send(api(fake.base), secrets, { chatId: "c", replyContext: { interactionToken: "forged" } }, "x"));
    expect(unknown).not.toBeInstanceOf(RetryableSendError);
    expect(unknown.message).toContain("HTTP 404");
    const none = await rejection(discordKind.send(api(fake.base), secrets, { chatId: "c" }, "x"));
    expect(none.message).toContain("no interaction token");
  });
});

describe("discord pairing", () => {
  test("the bot token's application is checked and the /ask command registered", async () => {
    const facts = await discordKind.onPair!(api(fake.base), secrets, null);
    expect(facts).toEqual({ applicationName: "Fake Assistant", command: "/ask" });
    const [cmd] = fake.commands();
    expect(cmd).toMatchObject({ name: "ask", type: 1, options: [{ type: 3, name: "message", required: true }] });
  });

  test("a token of another application, a public key not the application's, or a refused token are validation errors", async () => {
    const cases: [Record<string, string>, string][] = [
      [{ ...secrets, applicationId: other.credentials.applicationId }, "credentials.applicationId:"],
      [{ ...secrets, publicKey: other.credentials.publicKey }, "credentials.publicKey:"],
      [{ ...secrets, botToken: other.credentials.botToken }, "credentials.botToken:"],
    ];
    for (const [s, prefix] of cases) {
      const e = await rejection(discordKind.onPair!(api(fake.base), s, null));
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe("INVALID_PARAMS");
      expect(e.message).toStartWith(prefix);
      expect(e.message).not.toContain(s.botToken!);
    }
  });
});
