// Fair dispatch and no loss: one channel's flood does not starve the tenant's other channel (round
// robin, a per-tenant allowance) nor another tenant; a message recorded but not answered before a
// restart is answered after it, once (the agent run's idempotency key).
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import { scope } from "../../helpers/core.ts";
import { BOT_A, BOT_B, channelsWorld, type ChannelsWorld } from "./world.ts";

let w: ChannelsWorld | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

describe("channels dispatch", () => {
  test("a flood on one channel does not starve the tenant's other channel, nor another tenant", async () => {
    w = await channelsWorld({ beta: true, channels: { maxConcurrentRunsPerTenant: 1 } });
    const flood = await w.pairWebhook("alpha");
    const quiet = await w.pairTelegram("alpha", BOT_A);
    const other = await w.pairTelegram("beta", BOT_B);
    const otherSecret = w.tg.webhook!.secret_token!;
    for (let i = 0; i < 8; i++) w.fake.script(`flood-${i}`, [{ text: `flood answer ${i}`, delayMs: 400 }]);
    w.fake.script("quiet-one", [{ text: "quiet answer" }]);
    w.fake.script("beta-one", [{ text: "beta answer" }]);
    for (let i = 0; i < 8; i++) expect((await w.postSigned(flood.webhookPath, { id: `f${i}`, from: `peer${i}`, text: `flood-${i}` }, flood.signingKey)).status).toBe(200);
    const secretQuiet = w.core.channelsEngine.registry.secretsOf(w.core.channelsEngine.store.account.get("alpha", quiet.channel.id) as never)!.webhookSecret!;
    await w.tg.deliver(w.tg.message({ updateId: 1, text: "quiet-one" }), secretQuiet, `${w.gw.url}${quiet.webhookPath}`);
    await w.tg.deliver(w.tg.message({ updateId: 1, text: "beta-one" }), otherSecret, `${w.gw.url}${other.webhookPath}`);
    await w.idle();
    expect(w.callbacks.length + w.tg.sent("sendMessage").length).toBe(10);
    const replies = w.core.handle.sqlite.query("SELECT tenant_id, delivery_id, status FROM channel_inbox ORDER BY rowid").all() as any[];
    expect(replies.every((r) => r.status === "replied")).toBe(true);
    expect(w.core.sessions.list(scope("alpha"), { limit: 50 }).sessions.length).toBe(9);
    expect(w.core.sessions.list(scope("beta"), { limit: 50 }).sessions.length).toBe(1);
    // Round robin: the quiet message ran second on alpha's single slot, not after the flood.
    const ends = w.core.handle.sqlite.query("SELECT session_key AS k, ended_at AS e FROM agent_runs WHERE tenant_id = 'alpha' ORDER BY ended_at, rowid").all() as { k: string }[];
    const quietAt = ends.findIndex((r) => r.k.startsWith(`channel:${quiet.channel.id}:`));
    expect(quietAt).toBeLessThanOrEqual(1);
  });

  test("a flood past maxQueuedPerChannel is dropped (counted), not queued without end", async () => {
    w = await channelsWorld({ channels: { maxQueuedPerChannel: 2, maxConcurrentRunsPerTenant: 1 } });
    const ch = await w.pairWebhook("alpha");
    for (let i = 0; i < 6; i++) w.fake.script(`q-${i}`, [{ text: `a${i}`, delayMs: 200 }]);
    for (let i = 0; i < 6; i++) await w.postSigned(ch.webhookPath, { id: `q${i}`, from: `p${i}`, text: `q-${i}` }, ch.signingKey);
    await w.idle();
    const st = w.core.channels.status(scope("alpha")).channels[0]!;
    expect(st.counters.received).toBe(6);
    expect(st.counters.dropped).toBeGreaterThanOrEqual(3);
    expect(st.counters.replied + st.counters.dropped).toBe(6);
    expect(w.inbox("alpha").filter((r) => r.status === "dropped").every((r) => r.error === "the channel's queue is full")).toBe(true);
  });

  test("a message recorded but not answered (a restart) is dispatched again, and answered once", async () => {
    w = await channelsWorld();
    const ch = await w.pairWebhook("alpha");
    w.fake.script("recover-me", [{ text: "recovered answer" }]);
    // As a crash leaves it: the row recorded (queued) and never dispatched.
    w.core.handle.sqlite
      .query("INSERT INTO channel_inbox (tenant_id, channel_id, delivery_id, peer_id, chat_id, session_key, message, status, received_at) VALUES ('alpha', ?1, 'r1', 'u9', 'u9', ?2, 'recover-me', 'queued', ?3)")
      .run(ch.channel.id, `channel:${ch.channel.id}:dm:u9`, Date.now());
    w.core.channelsEngine.dispatcher.recover(null);
    await w.idle();
    expect(w.callbacks.map((c) => c.json.text)).toEqual(["recovered answer"]);
    // Dispatched again (a second crash after the run): the same agent run, no second model call.
    w.core.handle.sqlite.query("UPDATE channel_inbox SET status = 'running' WHERE delivery_id = 'r1'").run();
    w.core.channelsEngine.dispatcher.recover(null);
    await w.idle();
    const runs = w.core.handle.sqlite.query("SELECT count(*) AS n FROM agent_runs WHERE tenant_id = 'alpha'").get() as { n: number };
    expect(runs.n).toBe(1);
    expect(w.callbacks.length).toBe(2);
    expect(w.callbacks[1]!.json.text).toBe("recovered answer");
  });

  test("a callback host dropped from callbackAllow since pairing is refused at send, recorded as a failure", async () => {
    w = await channelsWorld({ channels: { sendRetries: 0 } });
    const ch = await w.pairWebhook("alpha");
    const cfg = JSON.parse(fs.readFileSync(w.core.configFile, "utf8"));
    cfg.gateway.channels.kinds.webhook.callbackAllow = ["hooks.example:443"];
    fs.writeFileSync(w.core.configFile, JSON.stringify(cfg));
    w.core.reloadConfig();
    await w.postSigned(ch.webhookPath, { id: "e1", from: "u", text: "hi" }, ch.signingKey);
    await w.idle();
    expect(w.callbacks).toEqual([]);
    const row = w.inbox("alpha")[0];
    expect(row.status).toBe("failed");
    expect(row.error).toContain("refused by the egress policy");
    expect(row.error).toContain("gateway.channels.kinds.webhook.callbackAllow");
  });
});

describe("channels inbox growth", () => {
  test("a flood of signed deliveries cannot grow a channel's inbox past its cap until the hourly prune", async () => {
    w = await channelsWorld();
    const ch = await w.pairWebhook("alpha", { dmPolicy: "allowlist" });
    const acc = w.core.channelsEngine.store.account.get("alpha", ch.channel.id) as never;
    const msgs = Array.from({ length: 1500 }, (_, i) => ({ deliveryId: `m${i}`, peerId: "stranger", chat: { id: "stranger", type: "dm" as const }, text: "x" }));
    w.core.channelsEngine.ingest.accept(acc, msgs);
    const { n } = w.core.handle.sqlite.query("SELECT count(*) AS n FROM channel_inbox WHERE tenant_id = 'alpha'").get() as { n: number };
    expect(n).toBeLessThanOrEqual(1100);
    expect(w.core.channels.status(scope("alpha")).channels[0]!.counters).toMatchObject({ received: 1500, dropped: 1500 });
  });
});

describe("a delivery's transaction and the gateway's other writers", () => {
  test("another connection committing while a delivery is recorded (the usage ledger's worker) does not fail it: the transaction takes the write lock first", async () => {
    w = await channelsWorld();
    const ch = await w.pairWebhook("alpha");
    w.fake.script("busy-1", [{ text: "answered" }]);
    // A second connection, as the ledger and responses workers have, commits between the delivery's
    // first read and its first write (a deferred transaction's snapshot is then stale: SQLITE_BUSY).
    const { Database } = await import("bun:sqlite");
    const other = new Database(w.core.handle.file);
    other.exec("PRAGMA busy_timeout = 0");
    const span = w.core.channelsEngine.store.inboxSpan as { get: (...a: unknown[]) => unknown };
    const real = span.get.bind(span);
    let injected = 0;
    span.get = (...a: unknown[]) => {
      const r = real(...a);
      try {
        other.exec("CREATE TABLE IF NOT EXISTS busy_probe (x INTEGER); INSERT INTO busy_probe VALUES (1)");
        injected++;
      } catch {
        // the delivery holds the write lock: the other writer waits its turn (here: gives up at once)
      }
      return r;
    };
    try {
      const res = await w.postSigned(ch.webhookPath, { id: "b1", from: "peer-b", text: "busy-1" }, ch.signingKey);
      expect(res.status).toBe(200);
      await w.idle();
      expect(w.inbox("alpha").map((r) => r.status)).toEqual(["replied"]);
      // The other writer never got in between (with a deferred transaction it did, and the delivery failed with 500).
      expect(injected).toBe(0);
    } finally {
      span.get = real;
      other.close();
    }
  });
});
