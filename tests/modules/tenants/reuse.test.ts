// A deleted tenant's id, created again, is a new tenant: nothing of the previous owner's — usage,
// sandbox runs, backups (records and the objects listed under its prefix), today's quota consumption,
// a request still in flight — reaches it through any surface, whether the delete and the re-create
// happen in the gateway or through the CLI (another process). The operator keeps the old history.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { createCore } from "../../../src/app/core.ts";
import { silentLogger } from "../../../src/core/logger.ts";
import { readEnvironment } from "../../../src/config/env.ts";
import { createApp } from "../../../src/http/server.ts";
import { startS3, type S3World } from "../../helpers/backup.ts";
import { chatWorld, ledgerRows } from "../../helpers/chat.ts";
import { adminKey, operatorCtx, testApp, scope } from "../../helpers/core.ts";

let s3: S3World;
beforeAll(async () => {
  s3 = await startS3(["backups"]);
});
afterAll(async () => {
  await s3.close();
});

async function bucketKeys(): Promise<string[]> {
  const client = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
  try {
    return ((await client.send(new ListObjectsV2Command({ Bucket: "backups" }))).Contents ?? []).map((o) => o.Key!);
  } finally {
    client.destroy();
  }
}

const chat = (words: number) => ({ model: "gpt-4o-mini", messages: [{ role: "user", content: `hello [[words:${words}]]` }] });

describe("a reused tenant id", () => {
  test("sees no usage, sandbox runs, backups or quota consumption of the deleted tenant, on any surface; the operator keeps the history", async () => {
    const w = await chatWorld({ quota: { tokensPerDay: 10_000 }, config: s3.config() });
    const { core } = w;
    const key = adminKey(core);
    const { call, rpc } = testApp(core);
    const old = w.token;
    for (let i = 0; i < 3; i++) expect((await w.post(chat(20))).status).toBe(200);
    const ran = await rpc(old, "sandbox.exec", { command: "/bin/sh", args: ["-c", "exit 0"] });
    expect(ran.error).toBeUndefined();
    const backed = await rpc(old, "tenants.backup", {});
    expect(backed.error).toBeUndefined();
    const oldIncarnation = core.tenants.get(scope("acme")).incarnation;
    // The old owner's state, as a baseline: everything below must be non-zero for it.
    const before = (await rpc(old, "tenants.usage", {})).result;
    expect(before.today.requests).toBe(3);
    expect(before.sandbox.today.runs).toBe(1);
    expect((await rpc(old, "tenants.quota.status", {})).result.usage.usedTokensToday).toBeGreaterThan(0);
    expect((await rpc(old, "tenants.backups.list", {})).result.backups).toHaveLength(1);

    expect((await call("DELETE", "/admin/v1/tenants/acme", { token: key })).status).toBe(200);
    const created = await call("POST", "/admin/v1/tenants", { token: key, body: { id: "acme", quota: { tokensPerDay: 10_000 } } });
    expect(created.status).toBe(201);
    const fresh: string = created.json.token;

    // Tenant surfaces.
    const usage = (await rpc(fresh, "tenants.usage", {})).result;
    expect(usage.today).toMatchObject({ requests: 0, totalTokens: 0, costMicroUsd: 0 });
    expect(usage.month).toMatchObject({ requests: 0, totalTokens: 0 });
    expect(usage.byModel).toEqual([]);
    expect(usage.sandbox).toEqual({ today: { runs: 0, seconds: 0 }, month: { runs: 0, seconds: 0 } });
    expect((await rpc(fresh, "tenants.usage.history", {})).result.days).toEqual([]);
    const quota = (await rpc(fresh, "tenants.quota.status", {})).result.usage;
    expect(quota).toMatchObject({ usedTokensToday: 0, usedCostTodayUsd: 0, reservedTokens: 0, inFlight: 0 });
    expect(quota.remaining.tokensToday).toBe(10_000);
    expect((await rpc(fresh, "sandbox.info", {})).result.today).toEqual({ runs: 0, seconds: 0 });
    expect((await rpc(fresh, "tenants.backups.list", {})).result.backups).toEqual([]);

    // Admin surfaces scoped to the tenant.
    const one = await call("GET", "/admin/v1/tenants/acme/usage", { token: key });
    expect(one.json.today).toMatchObject({ requests: 0, totalTokens: 0 });
    expect(one.json.days).toEqual([]);
    expect(one.json.sandbox.today.runs).toBe(0);
    expect(one.json.quota.usage.usedTokensToday).toBe(0);
    expect((await call("GET", "/admin/v1/tenants/acme/backups", { token: key })).json.backups).toEqual([]);
    // The bucket still holds the old owner's archive, but the new tenant's prefix listing does not show it.
    expect((await bucketKeys()).some((k) => k.startsWith(`tenants/acme/${oldIncarnation}/`))).toBe(true);
    expect(await core.backups.listBucket("acme", "backups")).toEqual([]);

    expect(created.json.tenant.incarnation).toMatch(/^[0-9a-f]{16}$/);
    expect(created.json.tenant.incarnation).not.toBe(oldIncarnation);

    // The new tenant's own use is counted from zero.
    expect((await w.post(chat(5), fresh)).status).toBe(200);
    expect((await rpc(fresh, "tenants.usage", {})).result.today.requests).toBe(1);
    const mine = await rpc(fresh, "tenants.backup", {});
    expect(mine.result.location).toStartWith(`${core.tenants.incarnation("acme")}/`);
    expect((await core.backups.listBucket("acme", "backups")).map((o) => o.location)).toEqual([`s3://backups/tenants/acme/${mine.result.location}`]);

    // The operator's billing across tenants keeps both owners apart.
    const all = (await call("GET", "/admin/v1/usage", { token: key })).json.tenants;
    expect(all.map((t: any) => [t.tenantId, t.incarnation, t.requests]).sort()).toEqual(
      [
        ["acme", oldIncarnation, 3],
        ["acme", core.tenants.incarnation("acme"), 1],
      ].sort(),
    );
    await w.close();
    core.close();
  }, 60_000);

  // The delete ends the old owner's running stream (README "Suspend and delete end running work"); the
  // cut request is settled while the id already belongs to someone else, and is charged to the old
  // owner — never to the new one.
  test("a request of the deleted tenant, cut by the delete and settled while the id is reused, is charged to the old owner", async () => {
    const w = await chatWorld({ quota: { tokensPerDay: 10_000 } });
    const { core } = w;
    const oldIncarnation = core.tenants.get(scope("acme")).incarnation;
    const slow = w.post({ ...chat(6), stream: true, messages: [{ role: "user", content: "slow [[words:6]] [[slow:300]]" }] }).then((r) => r.text());
    await Bun.sleep(150);
    core.tenants.remove(scope("acme"), operatorCtx);
    const fresh = core.tenants.create({ id: "acme", quota: { tokensPerDay: 10_000 } }, operatorCtx).token;
    const text = await slow;
    expect(text).not.toContain("[DONE]");
    expect(text).toContain('"error"');
    const { rpc } = testApp(core);
    expect((await rpc(fresh, "tenants.quota.status", {})).result.usage).toMatchObject({ usedTokensToday: 0, reservedTokens: 0, inFlight: 0 });
    expect((await rpc(fresh, "tenants.usage", {})).result.today.requests).toBe(0);
    const rows = ledgerRows(core);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ tenant_id: "acme", incarnation: oldIncarnation, status: "error", error_code: "tenant_stopped" });
    // Charged (its input and the output relayed), to the old incarnation.
    expect(rows[0].total_tokens).toBeGreaterThan(0);
    expect(rows[0].cost_micro_usd).toBeGreaterThan(0);
    await w.close();
    core.close();
  }, 30_000);

  test("deleted and created again by the CLI (another process), the running gateway's quota account starts from zero", async () => {
    const w = await chatWorld({ quota: { tokensPerDay: 10_000 } });
    const { core } = w;
    for (let i = 0; i < 2; i++) expect((await w.post(chat(30))).status).toBe(200);
    expect(core.quotas.status(scope("acme")).usage.usedTokensToday).toBeGreaterThan(0);
    const cli = createCore({ home: core.home, env: readEnvironment({}), log: silentLogger() });
    cli.tenants.remove(scope("acme"), operatorCtx);
    const fresh = cli.tenants.create({ id: "acme", quota: { tokensPerDay: 10_000 } }, operatorCtx).token;
    cli.close();
    const app = createApp(core, { peerIp: () => "127.0.0.1" }).app;
    const res = await app.handle(new Request("http://localhost/rpc", { method: "POST", headers: { authorization: `Bearer ${fresh}`, "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tenants.quota.status" }) }));
    const status = ((await res.json()) as any).result.usage;
    expect(status).toMatchObject({ usedTokensToday: 0, usedCostTodayUsd: 0 });
    expect(status.remaining.tokensToday).toBe(10_000);
    await w.close();
    core.close();
  }, 30_000);

  test("a restore of the same tenant keeps its incarnation (its own history comes back); a restore --as is a new tenant", async () => {
    const w = await chatWorld({ config: s3.config() });
    const { core } = w;
    expect((await w.post(chat(4))).status).toBe(200);
    const inc = core.tenants.incarnation("acme");
    const b = await core.backups.backup(scope("acme"), "s3://backups/", operatorCtx, { origin: "operator" });
    core.tenants.remove(scope("acme"), operatorCtx);
    await core.backups.restore(b.location, operatorCtx);
    expect(core.tenants.incarnation("acme")).toBe(inc);
    expect(core.usage.summary(scope("acme")).today.requests).toBe(1);
    expect(core.backups.list(scope("acme")).map((x) => x.backupId)).toEqual([b.backupId]);
    const copy = await core.backups.restore(b.location, operatorCtx, { as: "acme-copy" });
    expect(copy.tenantId).toBe("acme-copy");
    expect(core.tenants.incarnation("acme-copy")).not.toBe(inc);
    expect(core.usage.summary(scope("acme-copy")).today.requests).toBe(1);
    expect(core.backups.list(scope("acme-copy"))).toEqual([]);
    await w.close();
    core.close();
  }, 30_000);
});
