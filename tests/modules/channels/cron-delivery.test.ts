// Cron's delivery mode "channel": a run's result sent to a chat of one of the job owner's channels
// (through the platform, with the channel's retries); another tenant's channel id is not found.
import { afterEach, describe, expect, test } from "bun:test";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { BOT_B, channelsWorld, type ChannelsWorld } from "./world.ts";

let w: ChannelsWorld | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

async function ended(world: ChannelsWorld, tenant: string, runId: string) {
  for (let i = 0; i < 600; i++) {
    const run = world.core.cron.runs(scope(tenant), { limit: 50 }).items.find((r) => r.id === runId)!;
    if (run.status !== "running" && run.delivery) return run;
    await Bun.sleep(25);
  }
  throw new Error("the cron run did not end");
}

describe("cron delivery to a channel", () => {
  test("the run's result goes to the chat on the owner's channel; another tenant's channel is not found", async () => {
    w = await channelsWorld({ beta: true });
    const mine = await w.pairTelegram("alpha");
    const theirs = await w.pairTelegram("beta", BOT_B);
    w.fake.script("cron-report", [{ text: "the daily report" }]);
    const job = w.core.cron.add(scope("alpha"), { name: "daily", schedule: { kind: "every", everyMs: 3_600_000 }, payload: { kind: "agentTurn", message: "cron-report" }, delivery: { mode: "channel", channel: mine.channel.id, to: "4242" } }, operatorCtx);
    const run = await ended(w, "alpha", (await w.core.cron.runNow(scope("alpha"), job.id, operatorCtx)).id);
    expect(run.delivery).toEqual({ status: "ok" });
    const sent = w.tg.sent("sendMessage");
    expect(sent.map((c) => [c.body.chat_id, c.body.text.includes("the daily report"), c.body.text.startsWith('[cron job "daily"')])).toEqual([["4242", true, true]]);
    const evil = w.core.cron.add(scope("alpha"), { name: "evil", schedule: { kind: "every", everyMs: 3_600_000 }, payload: { kind: "exec", command: "true" }, delivery: { mode: "channel", channel: theirs.channel.id, to: "1" } }, operatorCtx);
    const bad = await ended(w, "alpha", (await w.core.cron.runNow(scope("alpha"), evil.id, operatorCtx)).id);
    expect(bad.delivery).toEqual({ status: "error", error: "channel not found" });
    expect(w.tg.sent("sendMessage").length).toBe(1);
  });
});
