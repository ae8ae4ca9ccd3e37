// The whatsapp kind against the local Cloud API stand-in: the GET subscription handshake (verify token
// compared in constant time), X-Hub-Signature-256 on every POST, the webhook payload shapes (text taken;
// statuses, other media, other phone numbers ignored), sends to /{phone-number-id}/messages, splitting,
// and 429/5xx/throttling codes as retryable.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AppError } from "../../../../src/core/errors.ts";
import { RetryableSendError } from "../../../../src/modules/channels/kinds/kind.ts";
import { WHATSAPP_MAX_TEXT, whatsappKind } from "../../../../src/modules/channels/kinds/whatsapp.ts";
import { type FakeWhatsApp, signWhatsApp, startFakeWhatsApp, whatsappDelivery, whatsappHandshake, whatsappText } from "../../../fake-platforms/whatsapp.ts";
import { api, inbound, rejection, thrown } from "./inbound.ts";

let fake: FakeWhatsApp;
let secrets: Record<string, string>;
beforeAll(async () => {
  fake = await startFakeWhatsApp();
  secrets = whatsappKind.validateCredentials(fake.credentials).secrets;
});
afterAll(() => fake.stop());

describe("whatsapp credentials", () => {
  test("all four are kept; the phone number id is shown as a fact, the rest masked", () => {
    const v = whatsappKind.validateCredentials(fake.credentials);
    expect(v.secrets).toEqual({ ...fake.credentials });
    expect(v.facts).toEqual({ phoneNumberId: fake.credentials.phoneNumberId });
    expect(whatsappKind.maskedFields).toEqual(["accessToken", "appSecret", "verifyToken"]);
  });

  test.each(["accessToken", "appSecret", "phoneNumberId", "verifyToken"])("a missing or malformed %s is refused naming it", (name) => {
    for (const bad of [undefined, "", 42, "has spaces in it and is long enough"]) {
      const err = thrown(() => whatsappKind.validateCredentials({ ...fake.credentials, [name]: bad }));
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe("INVALID_PARAMS");
      expect(err.message).toStartWith(`credentials.${name}:`);
    }
  });
});

describe("whatsapp verify and handshake", () => {
  test("the subscription GET with the channel's verify token is answered with the challenge as plain text", () => {
    const req = inbound("", {}, { method: "GET", query: whatsappHandshake(fake.credentials.verifyToken, "1158201444") });
    expect(whatsappKind.verify(req, secrets)).toBe(true);
    expect(whatsappKind.handshake(req, secrets)).toEqual({ status: 200, body: "1158201444", contentType: "text/plain" });
  });

  test("a wrong or missing verify token, another mode, or a missing challenge are refused", () => {
    const get = (q: Record<string, string>) => whatsappKind.verify(inbound("", {}, { method: "GET", query: new URLSearchParams(q) }), secrets);
    expect(get({ "hub.mode": "subscribe", "hub.verify_token": `${fake.credentials.verifyToken}x`, "hub.challenge": "1" })).toBe(false);
    expect(get({ "hub.mode": "subscribe", "hub.challenge": "1" })).toBe(false);
    expect(get({ "hub.mode": "unsubscribe", "hub.verify_token": fake.credentials.verifyToken, "hub.challenge": "1" })).toBe(false);
    expect(get({ "hub.mode": "subscribe", "hub.verify_token": fake.credentials.verifyToken })).toBe(false);
    expect(get({ "hub.mode": "subscribe", "hub.verify_token": fake.credentials.verifyToken, "hub.challenge": "<script>" + "x".repeat(300) })).toBe(false);
  });

  test("a POST signed with the app secret is accepted; tampered, unsigned, another app's, or a bare hex are refused", () => {
    const body = whatsappText({ phoneNumberId: secrets.phoneNumberId!, from: "15551234567", text: "hi" });
    const h = fake.sign(body);
    expect(whatsappKind.verify(inbound(body, h), secrets)).toBe(true);
    expect(whatsappKind.verify(inbound(body.replace('"hi"', '"ho"'), h), secrets)).toBe(false);
    expect(whatsappKind.verify(inbound(body, {}), secrets)).toBe(false);
    expect(whatsappKind.verify(inbound(body, signWhatsApp("c".repeat(32), body)), secrets)).toBe(false);
    expect(whatsappKind.verify(inbound(body, { "x-hub-signature-256": h["x-hub-signature-256"]!.slice("sha256=".length) }), secrets)).toBe(false);
    // A POST is never a handshake, even with the hub query.
    const post = inbound(body, h, { query: whatsappHandshake(fake.credentials.verifyToken, "1") });
    expect(whatsappKind.handshake(post, secrets)).toBeNull();
  });
});

describe("whatsapp parse", () => {
  test("a text message becomes a DM keyed by its message id, with the sender's profile name", () => {
    const body = whatsappText({ phoneNumberId: secrets.phoneNumberId!, from: "15551234567", text: "what's the weather?", id: "wamid.HBgL", name: "Ana", timestampSeconds: 1700000000 });
    expect(whatsappKind.parse(inbound(body, {}), secrets)).toEqual([
      { deliveryId: "wamid.HBgL", peerId: "15551234567", peerName: "Ana", chat: { id: "15551234567", type: "dm" }, text: "what's the weather?", sentAtMs: 1700000000000 },
    ]);
  });

  test("status updates, non-text messages and messages to another phone number carry nothing", () => {
    const status = whatsappDelivery(secrets.phoneNumberId!, { statuses: [{ id: "wamid.X", status: "delivered", timestamp: "1700000000", recipient_id: "15551234567" }] });
    const image = whatsappDelivery(secrets.phoneNumberId!, { messages: [{ from: "1555", id: "wamid.I", timestamp: "1700000000", type: "image", image: { id: "m1", mime_type: "image/jpeg" } }] });
    const other = whatsappText({ phoneNumberId: "999999999", from: "1555", text: "not for this channel" });
    for (const b of [status, image, other]) expect(whatsappKind.parse(inbound(b, {}), secrets)).toEqual([]);
    expect(whatsappKind.parse(inbound(JSON.stringify({ object: "page", entry: [] }), {}), secrets)).toEqual([]);
  });

  test("several messages in one delivery are all taken", () => {
    const body = whatsappDelivery(secrets.phoneNumberId!, {
      messages: [
        { from: "1", id: "wamid.A", timestamp: "1700000000", type: "text", text: { body: "a" } },
        { from: "2", id: "wamid.B", timestamp: "1700000001", type: "text", text: { body: "b" } },
      ],
    });
    expect(whatsappKind.parse(inbound(body, {}), secrets).map((m) => [m.deliveryId, m.peerId, m.text])).toEqual([
      ["wamid.A", "1", "a"],
      ["wamid.B", "2", "b"],
    ]);
  });

  test("a malformed body throws", () => {
    expect(() => whatsappKind.parse(inbound("nope", {}), secrets)).toThrow();
    expect(() => whatsappKind.parse(inbound("{}", {}), secrets)).toThrow();
  });
});

describe("whatsapp send", () => {
  test("POST /{phone-number-id}/messages with the Bearer token and the documented text body", async () => {
    const before = fake.calls.length;
    await whatsappKind.send(api(fake.base), secrets, { chatId: "15551234567" }, "sunny");
    const call = fake.calls.slice(before)[0]!;
    expect(call.path).toBe(`/${secrets.phoneNumberId}/messages`);
    expect(call.headers.authorization).toBe(`Bearer ${secrets.accessToken}`);
    expect(call.body).toEqual({ messaging_product: "whatsapp", recipient_type: "individual", to: "15551234567", type: "text", text: { preview_url: false, body: "sunny" } });
    expect(call.ok).toBe(true);
  });

  test("a long answer is split at 4096 characters, in order, nothing lost", async () => {
    const before = fake.sent().length;
    const text = "line\n".repeat(2000);
    await whatsappKind.send(api(fake.base), secrets, { chatId: "1555" }, text);
    const pieces = fake.sent().slice(before).map((s) => s.body);
    expect(pieces.length).toBe(3);
    for (const p of pieces) expect(p.length).toBeLessThanOrEqual(WHATSAPP_MAX_TEXT);
    expect(pieces.join("\n")).toBe(text);
  });

  test("429 (with Retry-After), 5xx and a throttling code are retryable; a bad token is final; no secret in messages", async () => {
    fake.inject({ status: 429, retryAfter: 3 });
    const limited = await rejection(whatsappKind.send(api(fake.base), secrets, { chatId: "1555" }, "x"));
    expect(limited).toBeInstanceOf(RetryableSendError);
    expect((limited as RetryableSendError).retryAfterMs).toBe(3000);
    expect(limited.message).toContain("130429");

    fake.inject({ status: 500 });
    const down = await rejection(whatsappKind.send(api(fake.base), secrets, { chatId: "1555" }, "x"));
    expect(down).toBeInstanceOf(RetryableSendError);

    const bad = await rejection(whatsappKind.send(api(fake.base), { ...secrets, accessToken: "EAAGrevokedrevokedrevoked" }, { chatId: "1555" }, "x"));
    expect(bad).not.toBeInstanceOf(RetryableSendError);
    expect(bad.message).toContain("HTTP 401");
    for (const e of [limited, down, bad]) {
      expect(e.message).not.toContain(secrets.accessToken!);
      expect(e.message).not.toContain(secrets.appSecret!);
    }
  });

  test("an unreachable API is retryable", async () => {
    expect(await rejection(whatsappKind.send(api("http://127.0.0.1:1/v21.0"), secrets, { chatId: "1555" }, "x"))).toBeInstanceOf(RetryableSendError);
  });
});

describe("whatsapp pairing", () => {
  test("the phone number node proves the token; its display number and name are facts", async () => {
    expect(await whatsappKind.onPair!(api(fake.base), secrets, null)).toEqual({ displayPhoneNumber: "+1 555-078-3881", verifiedName: "Fake Business" });
  });

  test("a refused token or an unknown phone number id is a validation error naming the token", async () => {
    for (const s of [{ ...secrets, accessToken: "EAAGrevokedrevokedrevoked" }, { ...secrets, phoneNumberId: "123" }]) {
      const e = await rejection(whatsappKind.onPair!(api(fake.base), s, null));
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe("INVALID_PARAMS");
      expect(e.message).toStartWith("credentials.accessToken:");
    }
  });
});
