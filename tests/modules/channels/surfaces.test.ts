// The channels surfaces: tenant RPC (POST /rpc), the admin API and the CLI — each pairs, lists,
// reports and unpairs, the changes audited under the caller, credentials never shown back.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { cli } from "../../helpers/cli.ts";
import { adminKey, createTenant, makeHome, testApp, testCore } from "../../helpers/core.ts";

const KEY = "surfaces-channels-key-0123456789abc";
const SECRET = "s".repeat(20) + "-my-own-signing-secret";

describe("channels surfaces", () => {
  test("RPC: pair, list, status, approve (wrong code), unpair — the caller's own only; the made signing key shown once", async () => {
    const core = testCore({ config: { gateway: { channels: { secretKey: KEY } } } });
    const token = createTenant(core, "acme");
    const { rpc } = testApp(core);
    const made = await rpc(token, "channels.pair", { kind: "webhook", name: "hook", options: { dmPolicy: "allowlist", allowFrom: ["u1"] } });
    expect(made.error).toBeUndefined();
    expect(made.result.signingKey).toMatch(/^whsec_/);
    expect(made.result.webhookUrl).toBeNull();
    expect(made.result.channel).toMatchObject({ kind: "webhook", name: "hook", status: "active", options: { dmPolicy: "allowlist", allowFrom: ["u1"] } });
    const own = await rpc(token, "channels.pair", { kind: "webhook", credentials: { secret: SECRET } });
    expect(own.result.signingKey).toBeUndefined();
    const list = await rpc(token, "channels.list", {});
    expect(list.result.channels.map((c: any) => c.id)).toEqual([made.result.channel.id, own.result.channel.id]);
    expect(list.text).not.toContain(made.result.signingKey);
    expect(list.text).not.toContain(SECRET);
    const status = await rpc(token, "channels.status", { channelId: own.result.channel.id });
    expect(status.result.channels[0].counters).toEqual({ received: 0, replied: 0, failed: 0, dropped: 0, replays: 0 });
    const wrong = await rpc(token, "channels.approve", { channelId: own.result.channel.id, code: "ABCD-EFGH" });
    expect(wrong.error.data.code).toBe("NOT_FOUND");
    expect(core.audit.query({ action: "channel.approve" })[0]).toMatchObject({ outcome: "denied", target: { id: own.result.channel.id } });
    // Bad input names the field and changes nothing.
    const bad = await rpc(token, "channels.pair", { kind: "webhook", credentials: { secret: "short" } });
    expect(bad.error.message).toContain("credentials.secret must be 32 to 256 characters");
    const badOpt = await rpc(token, "channels.pair", { kind: "webhook", options: { callbackUrl: "https://evil.example/x" } });
    expect(badOpt.error.message).toContain("options.callbackUrl evil.example:443 is not in the gateway's allow-list (gateway.channels.kinds.webhook.callbackAllow)");
    const tgNoUrl = await rpc(token, "channels.pair", { kind: "telegram", credentials: { botToken: "123456:AAAAaaaaBBBBbbbbCCCCccccDDDDddddEEE" } });
    expect(tgNoUrl.error.message).toContain('pair with options.mode "polling"');
    expect((await rpc(token, "channels.list", {})).result.channels.length).toBe(2);
    const gone = await rpc(token, "channels.unpair", { channelId: made.result.channel.id });
    expect(gone.result).toEqual({ unpaired: true, id: made.result.channel.id });
    expect((await rpc(token, "channels.unpair", { channelId: made.result.channel.id })).error.data.code).toBe("NOT_FOUND");
    const audit = fs.readFileSync(path.join(core.home, "audit.log"), "utf8");
    expect(audit).not.toContain(SECRET);
    expect(audit).not.toContain(made.result.signingKey);
    expect(core.audit.query({}).filter((r) => r.action.startsWith("channel.") && r.outcome === "ok").map((r) => [r.action, r.actor.kind]).sort()).toEqual([
      ["channel.pair", "tenant"],
      ["channel.pair", "tenant"],
      ["channel.unpair", "tenant"],
    ]);
    core.close();
  });

  test("the cap on channels per tenant is a clear QUOTA_EXCEEDED", async () => {
    const core = testCore({ config: { gateway: { channels: { secretKey: KEY, maxChannelsPerTenant: 1 } } } });
    const token = createTenant(core, "acme");
    const { rpc } = testApp(core);
    expect((await rpc(token, "channels.pair", { kind: "webhook" })).error).toBeUndefined();
    const over = await rpc(token, "channels.pair", { kind: "webhook" });
    expect(over.error.data.code).toBe("QUOTA_EXCEEDED");
    expect(over.error.message).toContain("gateway.channels.maxChannelsPerTenant = 1");
    core.close();
  });

  test("admin API: list, pair, status, unpair a tenant's channels under the admin key", async () => {
    const core = testCore({ config: { gateway: { channels: { secretKey: KEY } } } });
    createTenant(core, "acme");
    const key = adminKey(core);
    const { call } = testApp(core);
    const h = { authorization: `Bearer ${key}` };
    const made = await call("POST", "/admin/v1/tenants/acme/channels", { headers: h, body: { kind: "webhook", name: "ops" } });
    expect(made.status).toBe(201);
    const id = made.json.channel.id;
    expect((await call("GET", "/admin/v1/tenants/acme/channels", { headers: h })).json.channels.map((c: any) => c.id)).toEqual([id]);
    expect((await call("GET", `/admin/v1/tenants/acme/channels/${id}/status`, { headers: h })).json.channels[0].id).toBe(id);
    expect((await call("GET", `/admin/v1/tenants/ghost/channels`, { headers: h })).status).toBe(404);
    expect((await call("DELETE", `/admin/v1/tenants/acme/channels/${id}`, { headers: h })).json).toEqual({ unpaired: true, id });
    expect((await call("DELETE", `/admin/v1/tenants/acme/channels/${id}`, { headers: h })).status).toBe(404);
    expect(core.audit.query({}).filter((r) => r.action.startsWith("channel.")).map((r) => r.actor.kind)).toEqual(["admin", "admin"]);
    core.close();
  });

  test("CLI: openclaw channels pair (credentials from a file) | list | status | unpair --tenant", async () => {
    const h = makeHome();
    fs.writeFileSync(path.join(h, "openclaw.json"), JSON.stringify({ gateway: { channels: { secretKey: KEY } } }), { mode: 0o600 });
    expect((await cli(h, ["tenants", "create", "acme"])).code).toBe(0);
    const creds = path.join(h, "creds.json");
    fs.writeFileSync(creds, JSON.stringify({ secret: SECRET }));
    const paired = await cli(h, ["channels", "pair", "--tenant", "acme", "--kind", "webhook", "--name", "from-cli", "--credentials-file", creds, "--options", '{"dmPolicy":"open"}', "--json"]);
    expect(paired.code).toBe(0);
    const id = JSON.parse(paired.out).channel.id;
    expect(paired.out).not.toContain(SECRET);
    const human = await cli(h, ["channels", "list", "--tenant", "acme"]);
    expect(human.out).toContain(`${id}  webhook  "from-cli"  active  /channels/webhook/`);
    expect((await cli(h, ["channels", "status", "--tenant", "acme"])).out).toContain(`${id}  webhook  active  received 0`);
    const badJson = await cli(h, ["channels", "pair", "--tenant", "acme", "--kind", "webhook", "--options", "{nope"]);
    expect(badJson.code).not.toBe(0);
    expect(badJson.err + badJson.out).toContain("--options is not valid JSON");
    expect((await cli(h, ["channels", "unpair", id, "--tenant", "acme"])).out).toContain(`✓ channel ${id} unpaired`);
    expect((await cli(h, ["channels", "list", "--tenant", "acme"])).out).toContain("No channels for acme");
    const audit = fs.readFileSync(path.join(h, "audit.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.action.startsWith("channel."));
    expect(audit.map((r) => [r.action, r.actor.kind, r.tenant])).toEqual([
      ["channel.pair", "operator", "acme"],
      ["channel.unpair", "operator", "acme"],
    ]);
  });
});
