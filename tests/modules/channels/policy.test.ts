// Sender policy, pairing codes, rate limits and reply retries, through the real gateway.
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { BOT_A, channelsWorld, SECRET_KEY, type ChannelsWorld } from "./world.ts";

let w: ChannelsWorld | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

describe("channels policy", () => {
  test("pairing: an unknown sender gets one code (the same when asking again), the tenant approves it, then the sender is answered", async () => {
    w = await channelsWorld();
    const paired = await w.pairTelegram("alpha", BOT_A, { dmPolicy: "pairing" });
    const url = `${w.gw.url}${paired.webhookPath}`;
    await w.tg.deliver(w.tg.message({ updateId: 1, text: "let me in", from: 42 }), undefined, url);
    await w.idle();
    const notice = w.tg.sent("sendMessage");
    expect(notice.length).toBe(1);
    const code = /pairing code is ([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(notice[0]!.body.text)![1]!;
    const st = w.core.channels.status(scope("alpha"), paired.channel.id).channels[0]!;
    expect(st.pendingPeers.map((p) => p.peerId)).toEqual(["42"]);
    expect(JSON.stringify(st)).not.toContain(code.replace("-", ""));
    expect(w.core.sessions.list(scope("alpha"), { limit: 10 }).sessions).toEqual([]);
    // Asking again within a minute: no second notice; the pending row is the same one.
    await w.tg.deliver(w.tg.message({ updateId: 2, text: "hello?", from: 42 }), undefined, url);
    await w.idle();
    expect(w.tg.sent("sendMessage").length).toBe(1);
    expect((w.core.handle.sqlite.query("SELECT count(*) AS n FROM channel_peers").get() as any).n).toBe(1);
    // The code is stored hashed only.
    expect(JSON.stringify(w.core.handle.sqlite.query("SELECT * FROM channel_peers").all())).not.toContain(code.replace("-", ""));
    expect(() => w!.core.channels.approve(scope("alpha"), paired.channel.id, "ZZZZ-ZZZZ", operatorCtx)).toThrow("pairing code not found");
    expect(w.core.channels.approve(scope("alpha"), paired.channel.id, code.toLowerCase(), operatorCtx)).toEqual({ approved: true, channelId: paired.channel.id, peerId: "42" });
    expect(w.core.audit.query({}).some((r) => r.action === "channel.approve" && r.target?.id === paired.channel.id)).toBe(true);
    w.fake.script("now-approved", [{ text: "welcome" }]);
    await w.tg.deliver(w.tg.message({ updateId: 3, text: "now-approved", from: 42 }), undefined, url);
    await w.idle();
    expect(w.tg.sent("sendMessage").map((c) => c.body.text).at(-1)).toBe("welcome");
    // A used code does not work twice.
    expect(() => w!.core.channels.approve(scope("alpha"), paired.channel.id, code, operatorCtx)).toThrow("pairing code not found");
  });

  test("allowlist: only allowFrom senders are answered, others dropped silently; groups need their id listed", async () => {
    w = await channelsWorld();
    const paired = await w.pairTelegram("alpha", BOT_A, { dmPolicy: "allowlist", allowFrom: ["7", "-500"] });
    const url = `${w.gw.url}${paired.webhookPath}`;
    await w.tg.deliver(w.tg.message({ updateId: 1, text: "stranger", from: 8 }), undefined, url);
    await w.tg.deliver(w.tg.message({ updateId: 2, text: "friend", from: 7 }), undefined, url);
    await w.tg.deliver(w.tg.message({ updateId: 3, text: "other group", from: 7, chat: -600 }), undefined, url);
    await w.tg.deliver(w.tg.message({ updateId: 4, text: "listed group", from: 8, chat: -500 }), undefined, url);
    await w.idle();
    expect(w.tg.sent("sendMessage").map((c) => c.body.chat_id).sort()).toEqual(["-500", "7"]);
    expect(w.inbox("alpha").map((r) => [r.delivery_id, r.status, r.error])).toEqual([
      ["1", "dropped", "sender not in allowFrom"],
      ["2", "replied", null],
      ["3", "dropped", "group not in allowFrom"],
      ["4", "replied", null],
    ]);
  });

  test("rate limits: a flooding sender is cut at perPeerPerMinute (dropped, counted, one notice); the channel's other senders still go", async () => {
    w = await channelsWorld({ channels: { perPeerPerMinute: 3 } });
    const paired = await w.pairTelegram();
    const url = `${w.gw.url}${paired.webhookPath}`;
    for (let i = 1; i <= 6; i++) await w.tg.deliver(w.tg.message({ updateId: i, text: `flood ${i}`, from: 1 }), undefined, url);
    await w.tg.deliver(w.tg.message({ updateId: 7, text: "calm", from: 2 }), undefined, url);
    await w.idle();
    const st = w.core.channels.status(scope("alpha")).channels[0]!;
    expect(st.counters).toMatchObject({ received: 7, dropped: 3, replied: 4 });
    const toFlooder = w.tg.sent("sendMessage").filter((c) => c.body.chat_id === "1");
    expect(toFlooder.filter((c) => c.body.text.startsWith("Too many messages")).length).toBe(1);
    expect(w.tg.sent("sendMessage").filter((c) => c.body.chat_id === "2").length).toBe(1);
  });

  test("replies retry on 429 after retry_after, and on 5xx; a final failure is recorded on the row, the channel and the session", async () => {
    w = await channelsWorld({ channels: { sendRetries: 1 } });
    const paired = await w.pairTelegram();
    const url = `${w.gw.url}${paired.webhookPath}`;
    w.tg.inject("sendMessage", [{ status: 429, retryAfter: 1 }]);
    const t0 = Date.now();
    await w.tg.deliver(w.tg.message({ updateId: 1, text: "retry me", from: 5 }), undefined, url);
    await w.idle();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(w.tg.sent("sendMessage").length).toBe(2);
    expect(w.inbox("alpha")[0].status).toBe("replied");
    w.tg.inject("sendMessage", [{ status: 500 }, { status: 502 }]);
    await w.tg.deliver(w.tg.message({ updateId: 2, text: "fail me", from: 5 }), undefined, url);
    await w.idle();
    const row = w.inbox("alpha")[1];
    expect(row.status).toBe("failed");
    expect(row.error).toContain("the reply could not be delivered");
    const st = w.core.channels.status(scope("alpha")).channels[0]!;
    expect(st.counters).toMatchObject({ replied: 1, failed: 1 });
    expect(st.lastError).toContain("the reply could not be delivered");
    const s = w.core.sessions.get(scope("alpha"), `channel:${paired.channel.id}:dm:5`);
    expect(w.core.sessions.entries(scope("alpha"), s.sessionId).at(-1)).toMatchObject({ type: "error", code: "CHANNEL_SEND_FAILED" });
  });

  test("secrets never appear in any answer, the audit log, the log or the database in clear", async () => {
    w = await channelsWorld();
    const tg = await w.pairTelegram();
    const hook = await w.pairWebhook();
    const webhookSecret = w.tg.webhook!.secret_token!;
    const answers = JSON.stringify([tg, { ...hook, signingKey: undefined }, w.core.channels.list(scope("alpha")), w.core.channels.status(scope("alpha"))]);
    for (const s of [BOT_A, BOT_A.split(":")[1], webhookSecret, hook.signingKey]) {
      expect(answers).not.toContain(s);
      expect(fs.readFileSync(path.join(w.core.home, "audit.log"), "utf8")).not.toContain(s);
      expect(JSON.stringify(w.core.handle.sqlite.query("SELECT * FROM channel_accounts").all())).not.toContain(s);
    }
    expect(answers).not.toContain(SECRET_KEY);
  });

  test("without gateway.channels.secretKey pairing is refused with a clear error; a disabled kind is refused", async () => {
    w = await channelsWorld({ channels: { secretKey: undefined, kinds: { webhook: { enabled: false } } } });
    await expect(w.core.channels.pair(scope("alpha"), { kind: "telegram", credentials: { botToken: BOT_A } }, operatorCtx)).rejects.toThrow("set gateway.channels.secretKey to pair channels");
    await expect(w.core.channels.pair(scope("alpha"), { kind: "webhook", credentials: {} }, operatorCtx)).rejects.toThrow("the operator has not enabled webhook channels");
    await expect(w.core.channels.pair(scope("alpha"), { kind: "fax", credentials: {} }, operatorCtx)).rejects.toThrow("kind must be one of");
    expect(w.core.channels.list(scope("alpha")).channels).toEqual([]);
  });
});
