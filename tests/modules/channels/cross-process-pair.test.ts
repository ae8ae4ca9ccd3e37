// A channel paired or unpaired by another process (the CLI on the same home, while the gateway runs)
// holds at once in the gateway: its webhook path takes deliveries as soon as the pair returns, and
// refuses them as soon as the unpair does — the path is looked up in the table, not in a copy of it
// that only the process which paired would have updated.
import { afterEach, describe, expect, test } from "bun:test";
import { operatorCtx, scope, testCore } from "../../helpers/core.ts";
import { REFUSAL } from "../../../src/modules/channels/ingest.ts";
import { POLLERS_SYNC_MS } from "../../../src/modules/channels/channels.module.ts";
import { BOT_A, channelsWorld, type ChannelsWorld } from "./world.ts";

let w: ChannelsWorld | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

describe("channels: pairing by another process", () => {
  test("a channel the CLI paired takes deliveries at once, and refuses them once the CLI unpaired it", async () => {
    w = await channelsWorld();
    const cli = testCore({ home: w.core.home });
    try {
      const paired = await cli.channels.pair(scope("alpha"), { kind: "webhook", credentials: {}, options: { dmPolicy: "open", callbackUrl: w.callbackUrl } }, operatorCtx);
      w.fake.script("from-cli-pair", [{ text: "answered" }]);
      const res = await w.postSigned(paired.webhookPath, { id: "m1", from: "u1", text: "from-cli-pair" }, paired.signingKey!);
      expect(res.status).toBe(200);
      await w.idle();
      expect(w.callbacks.map((c) => c.json.text)).toEqual(["answered"]);
      await cli.channels.unpair(scope("alpha"), paired.channel.id, operatorCtx);
      const after = await w.postSigned(paired.webhookPath, { id: "m2", from: "u1", text: "after unpair" }, paired.signingKey!);
      expect(after.status).toBe(REFUSAL.status);
      expect(await after.text()).toBe(REFUSAL.body);
    } finally {
      cli.close();
    }
  }, 30_000);

  test("a polling channel the CLI paired is polled by the gateway", async () => {
    w = await channelsWorld();
    const cli = testCore({ home: w.core.home });
    const paired = await cli.channels.pair(scope("alpha"), { kind: "telegram", credentials: { botToken: BOT_A }, options: { dmPolicy: "open", mode: "polling" } }, operatorCtx);
    cli.close(); // the CLI exits: its own loop, if any, ends with it
    expect(paired.webhookUrl).toBeNull();
    w.fake.script("polled-after-cli-pair", [{ text: "polled answer" }]);
    w.tg.pushUpdate(w.tg.message({ updateId: 31, text: "polled-after-cli-pair", from: 77 }));
    const end = Date.now() + POLLERS_SYNC_MS + 5000;
    while (w.tg.sent("sendMessage").length === 0 && Date.now() < end) await Bun.sleep(50);
    expect(w.tg.sent("sendMessage").map((c) => c.body.text)).toEqual(["polled answer"]);
  }, 30_000);
});
