// The Telegram kind against the Bot API stand-in: the secret-token check, the update shapes, the
// reply calls (split at 4096), 429 with retry_after and 5xx as retryable, pairing's getMe/setWebhook.
import { afterEach, describe, expect, test } from "bun:test";
import { messagesOfUpdates, splitText, telegramKind } from "../../../../src/modules/channels/kinds/telegram.ts";
import { RetryableSendError, type InboundRequest } from "../../../../src/modules/channels/kinds/kind.ts";
import { startFakeTelegram, type FakeTelegram } from "../../../fake-platforms/telegram.ts";

const TOKEN = "123456:AAAAaaaaBBBBbbbbCCCCccccDDDDddddEEE";
let tg: FakeTelegram | null = null;
afterEach(() => {
  tg?.stop();
  tg = null;
});

const req = (headers: Record<string, string>, body: unknown, method: "GET" | "POST" = "POST"): InboundRequest => ({ method, headers, query: new URLSearchParams(), rawBody: new TextEncoder().encode(JSON.stringify(body)), nowMs: Date.now() });

describe("telegram kind", () => {
  test("credentials: a bot token only; the webhook secret is made by the gateway", () => {
    const { secrets, facts } = telegramKind.validateCredentials({ botToken: TOKEN });
    expect(secrets.botToken).toBe(TOKEN);
    expect(secrets.webhookSecret!.length).toBeGreaterThanOrEqual(40);
    expect(facts).toEqual({ botId: "123456" });
    expect(() => telegramKind.validateCredentials({ botToken: "nope" })).toThrow("credentials.botToken must be a Telegram bot token");
    expect(() => telegramKind.validateCredentials({ botToken: TOKEN, webhookSecret: "mine" })).toThrow("credentials.webhookSecret is not a Telegram credential");
    expect(() => telegramKind.validateCredentials(null)).toThrow("credentials must be an object");
  });

  test("verify: the secret token header, exactly; missing, wrong, another channel's or a GET refused", () => {
    const a = telegramKind.validateCredentials({ botToken: TOKEN }).secrets;
    const b = telegramKind.validateCredentials({ botToken: TOKEN }).secrets;
    const update = { update_id: 1 };
    expect(telegramKind.verify(req({ "x-telegram-bot-api-secret-token": a.webhookSecret! }, update), a)).toBe(true);
    expect(telegramKind.verify(req({}, update), a)).toBe(false);
    expect(telegramKind.verify(req({ "x-telegram-bot-api-secret-token": `${a.webhookSecret}x` }, update), a)).toBe(false);
    expect(telegramKind.verify(req({ "x-telegram-bot-api-secret-token": b.webhookSecret! }, update), a)).toBe(false);
    expect(telegramKind.verify(req({ "x-telegram-bot-api-secret-token": a.webhookSecret! }, update, "GET"), a)).toBe(false);
  });

  test("parse: private, group and topic messages; bots, edits and non-text updates ignored; garbage throws", () => {
    const msgs = messagesOfUpdates([
      { update_id: 10, message: { message_id: 1, date: 1700000000, text: "hi", from: { id: 5, first_name: "Ann", username: "ann" }, chat: { id: 5, type: "private" } } },
      { update_id: 11, message: { message_id: 2, text: "yo", from: { id: 6, first_name: "Bob" }, chat: { id: -100, type: "supergroup" }, message_thread_id: 3 } },
      { update_id: 12, message: { message_id: 3, text: "bot", from: { id: 7, is_bot: true }, chat: { id: 7, type: "private" } } },
      { update_id: 13, edited_message: { message_id: 1, text: "edit", from: { id: 5 }, chat: { id: 5, type: "private" } } },
      { update_id: 14, message: { message_id: 4, photo: [], from: { id: 5 }, chat: { id: 5, type: "private" } } },
    ]);
    expect(msgs).toEqual([
      { deliveryId: "10", peerId: "5", peerName: "ann", chat: { id: "5", type: "dm" }, text: "hi", sentAtMs: 1700000000000 },
      { deliveryId: "11", peerId: "6", peerName: "Bob", chat: { id: "-100", type: "group", threadId: "3" }, text: "yo" },
    ]);
    expect(() => messagesOfUpdates([{ nope: true }])).toThrow("not a Telegram update");
  });

  test("send: sendMessage to the chat (and topic), split at 4096; 429 → retry_after, 5xx → retryable, 400 → final", async () => {
    tg = startFakeTelegram();
    tg.addBot(TOKEN);
    const api = { base: tg.base, fetch };
    const secrets = { botToken: TOKEN, webhookSecret: "x" };
    await telegramKind.send(api, secrets, { chatId: "-100", threadId: "3" }, "a".repeat(5000));
    expect(tg.sent("sendMessage").map((c) => [c.body.chat_id, c.body.message_thread_id, c.body.text.length])).toEqual([
      ["-100", 3, 4096],
      ["-100", 3, 904],
    ]);
    tg.inject("sendMessage", [{ status: 429, retryAfter: 7 }]);
    const e429 = await telegramKind.send(api, secrets, { chatId: "1" }, "x").catch((e) => e);
    expect(e429).toBeInstanceOf(RetryableSendError);
    expect(e429.retryAfterMs).toBe(7000);
    tg.inject("sendMessage", [{ status: 502 }]);
    const e5 = await telegramKind.send(api, secrets, { chatId: "1" }, "x").catch((e) => e);
    expect(e5).toBeInstanceOf(RetryableSendError);
    expect(e5.retryAfterMs).toBeNull();
    const e401 = await telegramKind.send(api, { ...secrets, botToken: "999:zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz" }, { chatId: "1" }, "x").catch((e) => e);
    expect(e401).not.toBeInstanceOf(RetryableSendError);
    expect(e401.message).toContain("401");
  });

  test("pair: getMe, then setWebhook with the secret token and message updates only; a refused token is a clear error", async () => {
    tg = startFakeTelegram();
    tg.addBot(TOKEN, "my_bot");
    const api = { base: tg.base, fetch };
    const secrets = telegramKind.validateCredentials({ botToken: TOKEN }).secrets;
    expect(await telegramKind.onPair!(api, secrets, "https://gw.example/channels/telegram/abc")).toEqual({ username: "my_bot", botId: "123456" });
    expect(tg.sent("setWebhook")[0]!.body).toEqual({ url: "https://gw.example/channels/telegram/abc", secret_token: secrets.webhookSecret, allowed_updates: ["message"] });
    await expect(telegramKind.onPair!(api, { ...secrets, botToken: "999:zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz" }, null)).rejects.toThrow("credentials.botToken was refused by Telegram");
  });

  test("splitText cuts at a line break or a space where it can", () => {
    expect(splitText("aaa bbb ccc", 7)).toEqual(["aaa bbb", "ccc"]);
    expect(splitText("line one\nline two", 12)).toEqual(["line one", "line two"]);
    expect(splitText("x".repeat(10), 4)).toEqual(["xxxx", "xxxx", "xx"]);
    expect(splitText("", 10)).toEqual([" "]);
  });
});
