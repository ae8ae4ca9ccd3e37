// The generic webhook kind: HMAC-SHA256 over "<timestamp>.<body>", five minutes of clock skew, the
// documented body, a signed callback.
import { describe, expect, test } from "bun:test";
import { signPayload, webhookKind, WEBHOOK_WINDOW_MS } from "../../../../src/modules/channels/kinds/webhook.ts";
import { RetryableSendError, type InboundRequest } from "../../../../src/modules/channels/kinds/kind.ts";

const SECRET = "k".repeat(40);
const now = Date.now();
function req(body: string, ts: number, secret = SECRET, sig?: string): InboundRequest {
  const t = String(Math.floor(ts / 1000));
  return { method: "POST", headers: { "x-openclawmu-timestamp": t, "x-openclawmu-signature": sig ?? signPayload(secret, t, body) }, query: new URLSearchParams(), rawBody: new TextEncoder().encode(body), nowMs: now };
}

describe("webhook kind", () => {
  test("verify: a good signature within the window; bad, missing, stale, future, other secret, altered body refused", () => {
    const body = JSON.stringify({ id: "1", from: "u", text: "hi" });
    const s = { secret: SECRET };
    expect(webhookKind.verify(req(body, now), s)).toBe(true);
    expect(webhookKind.verify(req(body, now - WEBHOOK_WINDOW_MS + 5000), s)).toBe(true);
    expect(webhookKind.verify(req(body, now - WEBHOOK_WINDOW_MS - 5000), s)).toBe(false);
    expect(webhookKind.verify(req(body, now + WEBHOOK_WINDOW_MS + 5000), s)).toBe(false);
    expect(webhookKind.verify(req(body, now, "o".repeat(40)), s)).toBe(false);
    expect(webhookKind.verify(req(body, now, SECRET, "sha256=00"), s)).toBe(false);
    const altered = req(body, now);
    altered.rawBody = new TextEncoder().encode(body.replace("hi", "ho"));
    expect(webhookKind.verify(altered, s)).toBe(false);
    const missing = req(body, now);
    delete missing.headers["x-openclawmu-signature"];
    expect(webhookKind.verify(missing, s)).toBe(false);
    const noTs = req(body, now);
    noTs.headers["x-openclawmu-timestamp"] = "soon";
    expect(webhookKind.verify(noTs, s)).toBe(false);
  });

  test("parse: {id, from, fromName?, chat?, thread?, text}; malformed bodies throw naming the field", () => {
    const p = (b: unknown) => webhookKind.parse(req(JSON.stringify(b), now), { secret: SECRET });
    expect(p({ id: "m1", from: "u1", fromName: "Ann", text: "hello" })).toEqual([{ deliveryId: "m1", peerId: "u1", peerName: "Ann", chat: { id: "u1", type: "dm" }, text: "hello", sentAtMs: Math.floor(now / 1000) * 1000, replyContext: { inReplyTo: "m1" } }]);
    expect(p({ id: "m2", from: "u1", chat: "room", thread: "t1", text: "x" })[0]!.chat).toEqual({ id: "room", type: "group", threadId: "t1" });
    expect(() => p({ from: "u", text: "x" })).toThrow("id must be an id");
    expect(() => p({ id: "1", from: "u", text: "" })).toThrow("text must be a non-empty string");
    expect(() => p({ id: "a b", from: "u", text: "x" })).toThrow("id must be an id");
    expect(() => p([1])).toThrow("the body must be a JSON object");
  });

  test("credentials: a given secret of 32+ characters, or one made; nothing else", () => {
    expect(webhookKind.validateCredentials({ secret: SECRET }).secrets).toEqual({ secret: SECRET });
    expect(webhookKind.validateCredentials(undefined).secrets.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(() => webhookKind.validateCredentials({ secret: "short" })).toThrow("credentials.secret must be 32 to 256 characters");
    expect(() => webhookKind.validateCredentials({ token: "x" })).toThrow("credentials.token is not a webhook credential");
  });

  test("send: a signed POST to the callback; 429 and 5xx retryable (Retry-After honoured), 4xx final", async () => {
    const seen: { url: string; headers: Record<string, string>; body: string }[] = [];
    let status = 200;
    const fake = (async (url: string, init: RequestInit) => {
      seen.push({ url: String(url), headers: init.headers as Record<string, string>, body: String(init.body) });
      return new Response(null, { status, headers: status === 429 ? { "retry-after": "3" } : {} });
    }) as unknown as typeof fetch;
    const api = { base: "https://cb.example/hook", fetch: fake };
    await webhookKind.send(api, { secret: SECRET }, { chatId: "room", threadId: "t", peerId: "u", replyContext: { inReplyTo: "m1" } }, "answer");
    expect(JSON.parse(seen[0]!.body)).toEqual({ inReplyTo: "m1", to: { chat: "room", thread: "t", peer: "u" }, text: "answer" });
    expect(seen[0]!.headers["x-openclawmu-signature"]).toBe(signPayload(SECRET, seen[0]!.headers["x-openclawmu-timestamp"]!, seen[0]!.body));
    status = 429;
    const e = await webhookKind.send(api, { secret: SECRET }, { chatId: "x" }, "y").catch((err) => err);
    expect(e).toBeInstanceOf(RetryableSendError);
    expect(e.retryAfterMs).toBe(3000);
    status = 503;
    expect(await webhookKind.send(api, { secret: SECRET }, { chatId: "x" }, "y").catch((err) => err)).toBeInstanceOf(RetryableSendError);
    status = 404;
    const final = await webhookKind.send(api, { secret: SECRET }, { chatId: "x" }, "y").catch((err) => err);
    expect(final).not.toBeInstanceOf(RetryableSendError);
    expect(final.message).toBe("the callback answered HTTP 404");
  });
});
