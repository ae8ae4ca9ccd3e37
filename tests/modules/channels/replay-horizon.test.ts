// Replays after the inbox record is gone. The inbox is the replay guard, but it is pruned (a day past
// the replay window, and past INBOX_KEPT_PER_CHANNEL rows at once). A signed delivery whose signature
// carries no timestamp of its own (WhatsApp signs the body only) or whose window is longer than the
// record lasts (a busy channel's 1000 newest rows can be minutes) must not be taken as new once its
// row is pruned: a message the platform dated before what the inbox still covers is a replay.
import { afterEach, describe, expect, test } from "bun:test";
import { scope } from "../../helpers/core.ts";
import { INBOX_KEPT_PER_CHANNEL } from "../../../src/modules/channels/channels.module.ts";
import { channelsWorld, type ChannelsWorld } from "./world.ts";

let w: ChannelsWorld | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

const msg = (id: string, sentAtMs?: number) => ({ deliveryId: id, peerId: "stranger", chat: { id: "stranger", type: "dm" as const }, text: "x", ...(sentAtMs !== undefined ? { sentAtMs } : {}) });

describe("channels replay horizon", () => {
  test("a delivery replayed after 1000+ newer messages pruned its inbox row is still a replay", async () => {
    w = await channelsWorld();
    const ch = await w.pairWebhook("alpha", { dmPolicy: "allowlist" });
    const e = w.core.channelsEngine;
    const acc = () => e.store.account.get("alpha", ch.channel.id) as never;
    const t0 = Date.now() - 20 * 60_000;
    e.ingest.accept(acc(), [msg("captured", t0)]);
    await Bun.sleep(5);
    // Newer traffic, one delivery each (the prune runs every 100 rows): the captured row is pruned.
    for (let i = 0; i < INBOX_KEPT_PER_CHANNEL + 200; i++) e.ingest.accept(acc(), [msg(`later${i}`)]);
    // That traffic was ten minutes ago.
    w.core.handle.sqlite.query("UPDATE channel_inbox SET received_at = received_at - 600000").run();
    const left = w.core.handle.sqlite.query("SELECT count(*) AS n FROM channel_inbox WHERE delivery_id = 'captured'").get() as { n: number };
    expect(left.n).toBe(0);
    const before = e.store.account.get("alpha", ch.channel.id) as { received: number; replays: number };
    e.ingest.accept(acc(), [msg("captured", t0)]);
    const after = e.store.account.get("alpha", ch.channel.id) as { received: number; replays: number };
    expect(after.received).toBe(before.received);
    expect(after.replays).toBe(before.replays + 1);
    // A message of now still goes through.
    e.ingest.accept(acc(), [msg("fresh", Date.now())]);
    expect((e.store.account.get("alpha", ch.channel.id) as { received: number }).received).toBe(before.received + 1);
  });

  test("a delivery dated before the time the inbox is kept (a day) is a replay, whatever its id", async () => {
    w = await channelsWorld();
    const ch = await w.pairWebhook("alpha", { dmPolicy: "allowlist" });
    const e = w.core.channelsEngine;
    const acc = e.store.account.get("alpha", ch.channel.id) as never;
    e.ingest.accept(acc, [msg("old", Date.now() - 2 * 86_400_000), msg("new", Date.now() - 60_000)]);
    expect(w.core.channels.status(scope("alpha")).channels[0]!.counters).toMatchObject({ received: 1, replays: 1 });
    expect(w.inbox("alpha").map((r: any) => r.delivery_id)).toEqual(["new"]);
  });

  test("the generic webhook and Discord date a delivery by their signed timestamp", async () => {
    const { webhookKind } = await import("../../../src/modules/channels/kinds/webhook.ts");
    const { signPayload } = await import("../../../src/modules/channels/kinds/webhook.ts");
    const body = new TextEncoder().encode(JSON.stringify({ id: "d1", from: "p", text: "hi" }));
    const ts = String(Math.floor(Date.now() / 1000) - 30);
    const req = { method: "POST" as const, headers: { "x-openclawmu-timestamp": ts, "x-openclawmu-signature": signPayload("s".repeat(40), ts, body) }, query: new URLSearchParams(), rawBody: body, nowMs: Date.now() };
    expect(webhookKind.parse(req, { secret: "s".repeat(40) })[0]!.sentAtMs).toBe(Number(ts) * 1000);
    const { discordKind } = await import("../../../src/modules/channels/kinds/discord.ts");
    const interaction = { id: "111", type: 2, application_id: "42", token: "tok", channel_id: "c1", user: { id: "u1" }, data: { name: "ask", options: [{ type: 3, name: "message", value: "hello" }] } };
    const dbody = new TextEncoder().encode(JSON.stringify(interaction));
    const dreq = { method: "POST" as const, headers: { "x-signature-timestamp": ts, "x-signature-ed25519": "0".repeat(128) }, query: new URLSearchParams(), rawBody: dbody, nowMs: Date.now() };
    expect(discordKind.parse(dreq, { applicationId: "42", publicKey: "00".repeat(32), botToken: "x" })[0]!.sentAtMs).toBe(Number(ts) * 1000);
  });
});
