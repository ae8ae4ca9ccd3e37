// Inbound message → agent (the fake provider) → reply delivered, through the real gateway, for the
// Slack, WhatsApp and Discord kinds against their stand-ins: pairing over the tenant RPC (the kind's
// onPair talks to the stand-in), each platform's handshake through the real route, and a bad signature
// getting the one identical refusal.
import { afterEach, describe, expect, test } from "bun:test";
import { scope } from "../../helpers/core.ts";
import { keyPart } from "../../../src/modules/channels/session-key.ts";
import { type FakeDiscord, startFakeDiscord } from "../../fake-platforms/discord.ts";
import { type FakeSlack, slackDm, slackMention, slackUrlVerification, startFakeSlack } from "../../fake-platforms/slack.ts";
import { type FakeWhatsApp, startFakeWhatsApp, whatsappHandshake, whatsappText } from "../../fake-platforms/whatsapp.ts";
import { channelsWorld, type ChannelsWorld } from "./world.ts";

interface KindsWorld extends ChannelsWorld {
  slack: FakeSlack;
  wa: FakeWhatsApp;
  dc: FakeDiscord;
  /** POSTs raw bytes with the given headers to a path of the gateway. */
  raw(path: string, body: string, headers: Record<string, string>): Promise<Response>;
}

let w: KindsWorld | null = null;
afterEach(async () => {
  if (!w) return;
  await w.stop();
  w.slack.stop();
  w.wa.stop();
  w.dc.stop();
  w = null;
});

async function kindsWorld(opts: { beta?: boolean } = {}): Promise<KindsWorld> {
  const [slack, wa, dc] = await Promise.all([startFakeSlack(), startFakeWhatsApp(), startFakeDiscord()]);
  const base = await channelsWorld({ ...opts, kinds: { slack: { apiBase: slack.base }, whatsapp: { apiBase: wa.base }, discord: { apiBase: dc.base } } });
  return { ...base, slack, wa, dc, raw: (path, body, headers) => fetch(`${base.gw.url}${path}`, { method: "POST", headers, body }) };
}

const headersOf = (r: Response) => Object.fromEntries([...r.headers.entries()].filter(([k]) => k !== "x-request-id" && k !== "date"));
const answerOf = async (r: Response) => ({ status: r.status, body: await r.text(), headers: headersOf(r) });

async function pair(kw: KindsWorld, kind: string, credentials: unknown) {
  const r = await kw.rpcPair({ kind, credentials, options: { dmPolicy: "open" } });
  expect(r.error).toBeUndefined();
  expect(r.result.webhookUrl).toBe(`https://gateway.example${r.result.webhookPath}`);
  expect(r.result.webhookPath).toMatch(new RegExp(`^/channels/${kind}/[0-9A-Za-z]{43}$`));
  return r.result as { channel: any; webhookPath: string };
}

describe("channels end to end: slack, whatsapp, discord", () => {
  test("slack: pairing checks the token (auth.test); url_verification answers the challenge; a mention runs the agent and the answer goes in its thread", async () => {
    w = await kindsWorld();
    const paired = await pair(w, "slack", w.slack.credentials);
    expect(paired.channel.facts).toMatchObject({ team: "Fake Team", teamId: "T0FAKE001" });
    expect(Object.keys(paired.channel.masked).sort()).toEqual(["botToken", "signingSecret"]);
    expect(w.slack.calls.map((c) => c.path)).toEqual(["/auth.test"]);

    const challenge = slackUrlVerification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
    const hs = await w.raw(paired.webhookPath, challenge, w.slack.sign(challenge));
    expect(hs.status).toBe(200);
    expect(await hs.json()).toEqual({ challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" });

    w.fake.script("ask-slack", [{ text: "slack answer" }]);
    // A message of now: one the platform dated past the inbox's horizon (a day) is refused as a replay.
    const ts = `${Math.floor(Date.now() / 1000)}.000100`;
    const body = slackMention({ user: "U0ALICE01", text: "ask-slack", channel: "C0GENERAL", ts });
    const res = await w.raw(paired.webhookPath, body, w.slack.sign(body));
    expect(res.status).toBe(200);
    await w.idle();
    expect(w.slack.posted()).toEqual([{ channel: "C0GENERAL", text: "slack answer", thread_ts: ts }]);
    // Slack ids (upper case, dotted ts) are hashed into the key; the thread still has a session of its own.
    const key = `channel:${paired.channel.id}:g:${keyPart("C0GENERAL")}:t:${keyPart(ts)}`;
    expect(w.core.sessions.list(scope("alpha"), { limit: 10 }).sessions.map((s) => s.key)).toEqual([key]);
    expect(w.core.channels.status(scope("alpha"), paired.channel.id).channels[0]!.counters).toEqual({ received: 1, replied: 1, failed: 0, dropped: 0, replays: 0 });

    // A DM is answered in the DM (no thread), and a re-delivery of the same event_id is a replay.
    w.fake.script("dm-slack", [{ text: "dm answer" }, { text: "never" }]);
    const dm = slackDm({ user: "U0BOB0001", text: "dm-slack", eventId: "Ev0DM0001" });
    expect((await w.raw(paired.webhookPath, dm, w.slack.sign(dm))).status).toBe(200);
    await w.idle();
    expect((await w.raw(paired.webhookPath, dm, w.slack.sign(dm))).status).toBe(200);
    await w.idle();
    expect(w.slack.posted().slice(1)).toEqual([{ channel: "DU0BOB0001", text: "dm answer" }]);
    expect(w.core.channels.status(scope("alpha"), paired.channel.id).channels[0]!.counters).toMatchObject({ received: 2, replied: 2, replays: 1 });
  });

  test("whatsapp: pairing reads the phone number; the GET hub.challenge handshake answers the challenge; a text runs the agent and the answer goes to the sender", async () => {
    w = await kindsWorld();
    const paired = await pair(w, "whatsapp", w.wa.credentials);
    expect(paired.channel.facts).toMatchObject({ phoneNumberId: w.wa.credentials.phoneNumberId, verifiedName: "Fake Business" });

    const q = whatsappHandshake(w.wa.credentials.verifyToken, "1158201444");
    const hs = await fetch(`${w.gw.url}${paired.webhookPath}?${q}`);
    expect(hs.status).toBe(200);
    expect(hs.headers.get("content-type")).toStartWith("text/plain");
    expect(await hs.text()).toBe("1158201444");

    w.fake.script("ask-wa", [{ text: "whatsapp answer" }]);
    const body = whatsappText({ phoneNumberId: w.wa.credentials.phoneNumberId, from: "16505551234", text: "ask-wa", id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=" });
    const res = await w.raw(paired.webhookPath, body, w.wa.sign(body));
    expect(res.status).toBe(200);
    await w.idle();
    expect(w.wa.sent()).toEqual([{ to: "16505551234", body: "whatsapp answer" }]);
    expect(w.core.sessions.list(scope("alpha"), { limit: 10 }).sessions.map((s) => s.key)).toEqual([`channel:${paired.channel.id}:dm:16505551234`]);
    expect(w.core.channels.status(scope("alpha"), paired.channel.id).channels[0]!.counters).toEqual({ received: 1, replied: 1, failed: 0, dropped: 0, replays: 0 });
  });

  test("discord: pairing registers /ask; PING answers PONG; a command is acknowledged {type:5} and the answer is a follow-up on the interaction", async () => {
    w = await kindsWorld();
    const paired = await pair(w, "discord", w.dc.credentials);
    expect(paired.channel.facts).toMatchObject({ applicationId: w.dc.credentials.applicationId, command: "/ask" });
    expect(w.dc.commands().map((c) => c.name)).toEqual(["ask"]);

    const ping = w.dc.ping();
    const pong = await w.raw(paired.webhookPath, ping, w.dc.sign(ping));
    expect(pong.status).toBe(200);
    expect(await pong.json()).toEqual({ type: 1 });

    w.fake.script("ask-discord", [{ text: "discord answer" }]);
    const it = w.dc.interaction({ userId: "80351110224678912", text: "ask-discord", guildId: "613425648685547541", channelId: "613425648685547545" });
    const res = await w.raw(paired.webhookPath, it.body, w.dc.sign(it.body));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ type: 5 });
    await w.idle();
    expect(w.dc.followUps()).toEqual([{ token: it.token, content: "discord answer", allowedMentions: { parse: [] } }]);
    expect(w.core.sessions.list(scope("alpha"), { limit: 10 }).sessions.map((s) => s.key)).toEqual([`channel:${paired.channel.id}:g:${keyPart("613425648685547545")}`]);
    expect(w.core.channels.status(scope("alpha"), paired.channel.id).channels[0]!.counters).toEqual({ received: 1, replied: 1, failed: 0, dropped: 0, replays: 0 });
  });

  test("bad, missing, stale or another app's signatures and wrong handshakes get the one identical refusal of an unknown id, and record nothing", async () => {
    w = await kindsWorld();
    const slack = await pair(w, "slack", w.slack.credentials);
    const wa = await pair(w, "whatsapp", w.wa.credentials);
    const dc = await pair(w, "discord", w.dc.credentials);
    const unknown = await answerOf(await w.raw(`/channels/discord/${"Z".repeat(43)}`, "{}", {}));
    const sBody = slackDm({ user: "U1", text: "hi" });
    const wBody = whatsappText({ phoneNumberId: w.wa.credentials.phoneNumberId, from: "1555", text: "hi" });
    const it = w.dc.interaction({ userId: "1", text: "hi" });
    const now = Math.floor(Date.now() / 1000);
    const attempts = [
      w.raw(slack.webhookPath, sBody, w.slack.sign(sBody, { signingSecret: "0".repeat(32) })),
      w.raw(slack.webhookPath, sBody, w.slack.sign(sBody, { tsSeconds: now - 600 })),
      w.raw(slack.webhookPath, sBody, { "content-type": "application/json" }),
      w.raw(slack.webhookPath, slackUrlVerification("c"), w.slack.sign(slackUrlVerification("c"), { signingSecret: "1".repeat(32) })),
      w.raw(wa.webhookPath, wBody, w.wa.sign(wBody, { appSecret: "0".repeat(32) })),
      w.raw(wa.webhookPath, wBody, { "content-type": "application/json" }),
      fetch(`${w.gw.url}${wa.webhookPath}?${whatsappHandshake("wrong-verify-token-123", "42")}`),
      w.raw(dc.webhookPath, it.body, w.dc.sign(it.body, { other: true })),
      w.raw(dc.webhookPath, it.body, w.dc.sign(it.body, { tsSeconds: now - 600 })),
      w.raw(dc.webhookPath, it.body, { "content-type": "application/json" }),
      w.raw(dc.webhookPath, w.dc.ping(), w.dc.sign(w.dc.ping(), { other: true })),
      // A kind's genuine signature on another kind's path.
      w.raw(`/channels/slack/${dc.webhookPath.split("/").at(-1)}`, it.body, w.dc.sign(it.body)),
    ];
    for (const r of await Promise.all(attempts)) expect(await answerOf(r)).toEqual(unknown);
    // 401: Discord's portal sends invalid signatures to check an interactions endpoint and will not
    // save one that answers anything else. The same for every kind and reason, an over-size body too.
    expect(unknown.status).toBe(401);
    expect(unknown.body).toBe('{"error":"unauthorized"}');
    const big = JSON.stringify({ type: 2, pad: "y".repeat(1_100_000) });
    // (connection: close — refused before its body is read, the upload's connection would otherwise
    // hold the gateway's graceful stop for its whole grace period at the end of the test.)
    expect(await answerOf(await w.raw(dc.webhookPath, big, { ...w.dc.sign(big), connection: "close" }))).toEqual(unknown);
    expect(await answerOf(await w.raw(`/channels/whatsapp/${"Q".repeat(43)}`, big, { ...w.wa.sign(big), connection: "close" }))).toEqual(unknown);
    expect(w.inbox("alpha")).toEqual([]);
    expect(w.slack.posted()).toEqual([]);
    expect(w.wa.sent()).toEqual([]);
    expect(w.dc.followUps()).toEqual([]);
  });
});
