// Telegram in polling mode: no webhook (deleted at pairing), getUpdates from the operator's API base,
// the offset kept in the channel's row, the loop ended by unpair.
import { afterEach, describe, expect, test } from "bun:test";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { channelsWorld, type ChannelsWorld } from "./world.ts";

let w: ChannelsWorld | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

async function until(what: string, ok: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

describe("telegram polling", () => {
  test("updates fetched by getUpdates are answered; the offset moves past them; unpair ends the loop", async () => {
    w = await channelsWorld();
    const paired = await w.pairTelegram("alpha", undefined, { mode: "polling" });
    expect(paired.webhookUrl).toBeNull();
    expect(w.tg.sent("deleteWebhook").length).toBe(1);
    expect(w.core.channelsEngine.pollers.count()).toBe(1);
    w.fake.script("polled-msg", [{ text: "polled answer" }]);
    w.tg.pushUpdate(w.tg.message({ updateId: 900, text: "polled-msg", from: 31 }));
    await until("the reply", () => w!.tg.sent("sendMessage").length === 1);
    expect(w.tg.sent("sendMessage")[0]!.body).toMatchObject({ chat_id: "31", text: "polled answer" });
    await until("the next poll", () => w!.tg.sent("getUpdates").some((c) => c.body.offset === 901));
    expect((w.core.handle.sqlite.query("SELECT poll_offset AS o FROM channel_accounts").get() as { o: number }).o).toBe(901);
    await w.core.channels.unpair(scope("alpha"), paired.channel.id, operatorCtx);
    expect(w.core.channelsEngine.pollers.count()).toBe(0);
    const polls = w.tg.sent("getUpdates").length;
    await Bun.sleep(300);
    expect(w.tg.sent("getUpdates").length).toBe(polls);
  });
});
