// A tenant stopped by another process (the CLI on the same home) while a channel's work for it is
// still going — a reply waiting out a platform's 429, a notice — ends that work: the gateway notices
// through the tenant lifecycle's watch, as it does for agent runs and sandbox runs, and nothing more is
// sent for the suspended tenant.
import { afterEach, describe, expect, test } from "bun:test";
import { operatorCtx, scope, testCore } from "../../helpers/core.ts";
import { channelsWorld, type ChannelsWorld } from "./world.ts";

let w: ChannelsWorld | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(20);
  }
}

describe("channels: a tenant stopped by another process", () => {
  test("a reply waiting out a 429 is not sent once the CLI suspended the tenant", async () => {
    w = await channelsWorld();
    const paired = await w.pairTelegram();
    w.fake.script("after-suspend", [{ text: "must not arrive" }]);
    w.tg.inject("sendMessage", [{ status: 429, retryAfter: 2 }]);
    expect((await w.tg.deliver(w.tg.message({ updateId: 5, text: "after-suspend" }), undefined, `${w.gw.url}${paired.webhookPath}`)).status).toBe(200);
    await until(() => w!.tg.sent("sendMessage").length === 1);
    const cli = testCore({ home: w.core.home });
    cli.tenants.suspend(scope("alpha"), operatorCtx);
    cli.close();
    await Bun.sleep(3000);
    await w.idle();
    expect(w.tg.sent("sendMessage").length).toBe(1);
    expect(w.inbox("alpha")[0]).toMatchObject({ status: "dropped" });
  }, 30_000);

  test("a pairing-code notice waiting out a 429 is not sent once the CLI suspended the tenant", async () => {
    w = await channelsWorld();
    const paired = await w.pairTelegram("alpha", undefined, { dmPolicy: "pairing" });
    w.tg.inject("sendMessage", [{ status: 429, retryAfter: 2 }]);
    expect((await w.tg.deliver(w.tg.message({ updateId: 6, text: "let me in", from: 4242 }), undefined, `${w.gw.url}${paired.webhookPath}`)).status).toBe(200);
    await until(() => w!.tg.sent("sendMessage").length === 1);
    const cli = testCore({ home: w.core.home });
    cli.tenants.suspend(scope("alpha"), operatorCtx);
    cli.close();
    await Bun.sleep(3000);
    expect(w.tg.sent("sendMessage").length).toBe(1);
  }, 30_000);

  test("a notice waiting out a 429 is not sent once the channel is unpaired", async () => {
    w = await channelsWorld();
    const paired = await w.pairTelegram("alpha", undefined, { dmPolicy: "pairing" });
    w.tg.inject("sendMessage", [{ status: 429, retryAfter: 2 }]);
    expect((await w.tg.deliver(w.tg.message({ updateId: 7, text: "let me in", from: 4343 }), undefined, `${w.gw.url}${paired.webhookPath}`)).status).toBe(200);
    await until(() => w!.tg.sent("sendMessage").length === 1);
    await w.core.channels.unpair(scope("alpha"), paired.channel.id, operatorCtx);
    await Bun.sleep(3000);
    expect(w.tg.sent("sendMessage").length).toBe(1);
  }, 30_000);
});
