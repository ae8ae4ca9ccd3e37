// Inbound message → agent (the fake provider) → reply delivered, through the real gateway, for the
// Telegram and generic webhook kinds; refusals, replays, another tenant's hook id, unpair.
import { afterEach, describe, expect, test } from "bun:test";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { signPayload } from "../../../src/modules/channels/kinds/webhook.ts";
import { BOT_A, BOT_B, channelsWorld, type ChannelsWorld } from "./world.ts";

let w: ChannelsWorld | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

const headersOf = (r: Response) => Object.fromEntries([...r.headers.entries()].filter(([k]) => k !== "x-request-id" && k !== "date"));

describe("channels end to end", () => {
  test("telegram: pairing sets the webhook with a secret token; a message runs the agent in its own session and the answer goes back with sendMessage", async () => {
    w = await channelsWorld();
    const paired = await w.pairTelegram();
    expect(paired.webhookUrl).toBe(`https://gateway.example${paired.webhookPath}`);
    expect(paired.webhookPath).toMatch(/^\/channels\/telegram\/[0-9A-Za-z]{43}$/);
    expect(paired.channel.masked).toEqual({ botToken: `…${BOT_A.slice(-4)}` });
    expect(paired.channel.facts).toMatchObject({ username: "alpha_bot" });
    expect(w.tg.webhook!.url).toBe(paired.webhookUrl);
    expect(w.tg.webhook!.secret_token!.length).toBeGreaterThanOrEqual(32);
    w.fake.script("ping-tg", [{ text: "pong from the agent" }]);
    const res = await w.tg.deliver(w.tg.message({ updateId: 500, text: "ping-tg", from: 1001 }), undefined, `${w.gw.url}${paired.webhookPath}`);
    expect(res.status).toBe(200);
    await w.idle();
    const sent = w.tg.sent("sendMessage");
    expect(sent.map((c) => [c.token, c.body.chat_id, c.body.text])).toEqual([[BOT_A, "1001", "pong from the agent"]]);
    expect(w.tg.sent("sendChatAction").length).toBeGreaterThanOrEqual(1);
    const key = `channel:${paired.channel.id}:dm:1001`;
    const session = w.core.sessions.get(scope("alpha"), key);
    expect(w.core.sessions.entries(scope("alpha"), session.sessionId).map((e) => e.type)).toEqual(["user", "assistant"]);
    const st = w.core.channels.status(scope("alpha"), paired.channel.id).channels[0]!;
    expect(st.counters).toEqual({ received: 1, replied: 1, failed: 0, dropped: 0, replays: 0 });
    expect(w.inbox("alpha").map((r) => [r.delivery_id, r.status, r.message])).toEqual([["500", "replied", null]]);
  });

  test("telegram: groups and threads get sessions of their own; a long answer is split at 4096 characters", async () => {
    w = await channelsWorld();
    const paired = await w.pairTelegram();
    const long = `${"word ".repeat(1000)}`.trim();
    w.fake.script("long-one", [{ text: long }]);
    w.fake.script("in-thread", [{ text: "thread answer" }]);
    const url = `${w.gw.url}${paired.webhookPath}`;
    await w.tg.deliver(w.tg.message({ updateId: 1, text: "long-one", from: 7, chat: -100200 }), undefined, url);
    await w.tg.deliver(w.tg.message({ updateId: 2, text: "in-thread", from: 7, chat: -100200, threadId: 9 }), undefined, url);
    await w.idle();
    const keys = w.core.sessions.list(scope("alpha"), { limit: 10 }).sessions.map((s) => s.key).sort();
    expect(keys).toEqual([`channel:${paired.channel.id}:g:-100200`, `channel:${paired.channel.id}:g:-100200:t:9`]);
    const sent = w.tg.sent("sendMessage");
    const parts = sent.filter((c) => c.body.text !== "thread answer");
    expect(parts.length).toBe(2);
    expect(parts.every((c) => c.body.text.length <= 4096)).toBe(true);
    expect(parts.map((c) => c.body.text).join(" ")).toBe(long);
    expect(sent.find((c) => c.body.text === "thread answer")!.body.message_thread_id).toBe(9);
    expect(sent.find((c) => c.body.text === "thread answer")!.body.chat_id).toBe("-100200");
  });

  test("webhook: a signed delivery runs the agent; the answer is POSTed to the callback, signed with the channel's secret", async () => {
    w = await channelsWorld();
    const paired = await w.pairWebhook();
    expect(paired.signingKey).toMatch(/^whsec_/);
    expect(paired.channel.masked).toEqual({});
    w.fake.script("hello-hook", [{ text: "hook answer" }]);
    const res = await w.postSigned(paired.webhookPath, { id: "m1", from: "user-1", text: "hello-hook" }, paired.signingKey);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 1 });
    await w.idle();
    expect(w.callbacks.length).toBe(1);
    const cb = w.callbacks[0]!;
    expect(cb.json).toEqual({ inReplyTo: "m1", to: { chat: "user-1", peer: "user-1" }, text: "hook answer" });
    expect(cb.headers["x-openclawmu-signature"]).toBe(signPayload(paired.signingKey, cb.headers["x-openclawmu-timestamp"]!, cb.body));
  });

  test("every refusal is one identical 401 — unknown id, wrong kind, bad, missing or other channel's signature, stale timestamp — and records nothing", async () => {
    w = await channelsWorld({ beta: true });
    const a = await w.pairWebhook("alpha");
    const b = await w.pairWebhook("beta");
    const hookA = a.webhookPath.split("/").at(-1);
    const body = { id: "x1", from: "u", text: "hi" };
    const attempts = [
      await w.postSigned(`/channels/webhook/${"Z".repeat(43)}`, body, a.signingKey),
      await w.postSigned(`/channels/telegram/${hookA}`, body, a.signingKey),
      await w.postSigned(`/channels/nope/${hookA}`, body, a.signingKey),
      await w.postSigned(a.webhookPath, body, a.signingKey, { signature: "sha256=00" }),
      await w.postSigned(a.webhookPath, body, b.signingKey),
      await w.postSigned(a.webhookPath, body, a.signingKey, { timestamp: Math.floor(Date.now() / 1000) - 3600 }),
      await fetch(`${w.gw.url}${a.webhookPath}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
      await fetch(`${w.gw.url}${a.webhookPath}`, { method: "GET" }),
    ];
    const seen = await Promise.all(attempts.map(async (r) => ({ status: r.status, body: await r.text(), headers: headersOf(r) })));
    for (const s of seen) expect(s).toEqual(seen[0]!);
    expect(seen[0]!.status).toBe(401);
    expect(seen[0]!.body).toBe('{"error":"unauthorized"}');
    expect(w.inbox("alpha")).toEqual([]);
    expect(w.inbox("beta")).toEqual([]);
    // A body over gateway.channels.maxInboundBytes, declared or streamed: the same.
    const big = JSON.stringify({ id: "x2", from: "u", text: "y".repeat(1_100_000) });
    const declared = await fetch(`${w.gw.url}${a.webhookPath}`, { method: "POST", headers: { "content-type": "application/json" }, body: big });
    expect({ status: declared.status, body: await declared.text(), headers: headersOf(declared) }).toEqual(seen[0]!);
    const streamed = await fetch(`${w.gw.url}${a.webhookPath}`, { method: "POST", body: new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode(big)), c.close()) }), duplex: "half" } as RequestInit);
    expect({ status: streamed.status, body: await streamed.text(), headers: headersOf(streamed) }).toEqual(seen[0]!);
    // A suspended tenant's channel answers the same.
    w.core.tenants.suspend(scope("alpha"), operatorCtx);
    const suspended = await w.postSigned(a.webhookPath, body, a.signingKey);
    expect({ status: suspended.status, body: await suspended.text(), headers: headersOf(suspended) }).toEqual(seen[0]!);
  });

  test("a replayed delivery is refused (counted, not run twice); a signed but malformed body is a generic 400", async () => {
    w = await channelsWorld();
    const paired = await w.pairTelegram();
    const url = `${w.gw.url}${paired.webhookPath}`;
    w.fake.script("once-only", [{ text: "first" }, { text: "second" }]);
    const update = w.tg.message({ updateId: 77, text: "once-only" });
    expect((await w.tg.deliver(update, undefined, url)).status).toBe(200);
    await w.idle();
    expect((await w.tg.deliver(update, undefined, url)).status).toBe(200);
    await w.idle();
    expect(w.tg.sent("sendMessage").map((c) => c.body.text)).toEqual(["first"]);
    expect(w.core.channels.status(scope("alpha")).channels[0]!.counters).toMatchObject({ received: 1, replied: 1, replays: 1 });
    // An update id far below the highest seen is a replay even once its inbox row is pruned.
    expect((await w.tg.deliver(w.tg.message({ updateId: 500_000, text: "high-id", from: 2002 }), undefined, url)).status).toBe(200);
    await w.idle();
    w.core.handle.sqlite.query("DELETE FROM channel_inbox WHERE delivery_id = '77'").run();
    expect((await w.tg.deliver(update, undefined, url)).status).toBe(200);
    await w.idle();
    expect(w.core.channels.status(scope("alpha")).channels[0]!.counters).toMatchObject({ received: 2, replays: 2 });
    expect(w.tg.sent("sendMessage").filter((c) => c.body.text === "second")).toEqual([]);
    const bad = await fetch(url, { method: "POST", headers: { "x-telegram-bot-api-secret-token": w.tg.webhook!.secret_token! }, body: "{not json" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe('{"error":"bad request"}');
  });

  test("A's hook id never delivers into B: B's secret on A's path is refused, A's goes to A's session only", async () => {
    w = await channelsWorld({ beta: true });
    const a = await w.pairTelegram("alpha", BOT_A);
    const secretA = w.tg.webhook!.secret_token!;
    const b = await w.pairTelegram("beta", BOT_B);
    const secretB = w.tg.webhook!.secret_token!;
    expect(secretA).not.toBe(secretB);
    const urlA = `${w.gw.url}${a.webhookPath}`;
    expect((await w.tg.deliver(w.tg.message({ updateId: 1, text: "to-a" }), secretB, urlA)).status).toBe(401);
    expect((await w.tg.deliver(w.tg.message({ updateId: 2, text: "to-a" }), secretA, `${w.gw.url}${b.webhookPath}`)).status).toBe(401);
    expect((await w.tg.deliver(w.tg.message({ updateId: 3, text: "to-a" }), secretA, urlA)).status).toBe(200);
    await w.idle();
    expect(w.core.sessions.list(scope("beta"), { limit: 10 }).sessions).toEqual([]);
    expect(w.core.sessions.list(scope("alpha"), { limit: 10 }).sessions.map((s) => s.key)).toEqual([`channel:${a.channel.id}:dm:1001`]);
    expect(w.tg.sent("sendMessage").map((c) => c.token)).toEqual([BOT_A]);
    // B cannot see, unpair or approve on A's channel: the same NOT_FOUND as no channel at all.
    const ghost = "ch_" + "a".repeat(20);
    for (const id of [a.channel.id, ghost]) {
      expect(() => w!.core.channels.status(scope("beta"), id)).toThrow("channel not found");
      expect(() => w!.core.channels.approve(scope("beta"), id, "ABCDEFGH", operatorCtx)).toThrow("channel not found");
      await expect(w!.core.channels.unpair(scope("beta"), id, operatorCtx)).rejects.toThrow("channel not found");
    }
  });

  test("unpair stops delivery at once: the path refuses, the platform's webhook is deleted", async () => {
    w = await channelsWorld();
    const paired = await w.pairTelegram();
    const secret = w.tg.webhook!.secret_token!;
    await w.core.channels.unpair(scope("alpha"), paired.channel.id, operatorCtx);
    expect(w.tg.sent("deleteWebhook").length).toBe(1);
    const r = await w.tg.deliver(w.tg.message({ updateId: 9, text: "late" }), secret, `${w.gw.url}${paired.webhookPath}`);
    expect(r.status).toBe(401);
    expect(w.core.channels.list(scope("alpha")).channels).toEqual([]);
    expect(w.core.audit.query({}).filter((x) => x.action.startsWith("channel.")).map((x) => [x.action, x.target?.id]).sort()).toEqual([
      ["channel.pair", paired.channel.id],
      ["channel.unpair", paired.channel.id],
    ]);
  });
});
