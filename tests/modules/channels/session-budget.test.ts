// A channel message that starts a new conversation creates a session, which is an audited change
// (`sessions.create`). Every tenant surface spends one token of the tenant's change bucket for it
// (gateway.limits.tenantChangesPerMinute / tenantChangesBurst); channels must too, or a tenant that
// signs its own deliveries (the generic webhook) with a new sender id each time creates sessions and
// audit records at the channel rate limits (600 a minute per channel, 10 channels) — free of any model
// cost when its quota is spent, since the session is made before the run is refused.
import { afterEach, describe, expect, test } from "bun:test";
import { channelsWorld, type ChannelsWorld } from "./world.ts";

let w: ChannelsWorld | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

const sessionsOf = (w: ChannelsWorld, tenant: string) => (w.core.handle.sqlite.query("SELECT count(*) AS n FROM agent_sessions WHERE tenant_id = ?1").get(tenant) as { n: number }).n;

describe("channels: new conversations spend the tenant's change budget", () => {
  test("senders past tenantChangesBurst get no new session; a known sender's conversation goes on", async () => {
    w = await channelsWorld({ config: { gateway: { limits: { tenantChangesBurst: 3, tenantChangesPerMinute: 1 } } } });
    const ch = await w.pairWebhook("alpha");
    for (let i = 0; i < 8; i++) expect((await w.postSigned(ch.webhookPath, { id: `m${i}`, from: `sender${i}`, text: `hello ${i}` }, ch.signingKey)).status).toBe(200);
    await w.idle();
    expect(sessionsOf(w, "alpha")).toBe(3);
    const rows = w.inbox("alpha");
    expect(rows.filter((r: any) => r.status === "failed" && String(r.error).includes("RATE_LIMITED")).length).toBe(5);
    // sender0 has a session: its next message is no new change, and is answered.
    expect((await w.postSigned(ch.webhookPath, { id: "again", from: "sender0", text: "more" }, ch.signingKey)).status).toBe(200);
    await w.idle();
    expect(w.inbox("alpha").find((r: any) => r.delivery_id === "again")).toMatchObject({ status: "replied" });
    expect(sessionsOf(w, "alpha")).toBe(3);
  }, 30_000);
});
