// A tenant's own backups are bounded: at most backup.tenantMaxBackups kept and backup.tenantMaxBytes
// held (the oldest are pruned, archive and record; one larger than the cap is refused and stores
// nothing), and tenants together never hold every backup slot: the operator's work still runs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { startS3, type S3World } from "../../helpers/backup.ts";
import { createTenant, operatorCtx, testApp, testCore, scope } from "../../helpers/core.ts";

let s3: S3World;
beforeAll(async () => {
  s3 = await startS3(["backups"]);
});
afterAll(async () => {
  await s3.close();
});

async function keysUnder(prefix: string): Promise<string[]> {
  const c = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
  try {
    return ((await c.send(new ListObjectsV2Command({ Bucket: "backups", Prefix: prefix }))).Contents ?? []).map((o) => `s3://backups/${o.Key}`).sort();
  } finally {
    c.destroy();
  }
}

describe("a tenant's own backups", () => {
  test("keep at most backup.tenantMaxBackups: the oldest are pruned, archive and record", async () => {
    const core = testCore({ config: s3.config({ tenantMaxBackups: 2, tenantMinIntervalMinutes: 0 }) });
    const token = createTenant(core, "acme");
    const { rpc } = testApp(core);
    const made: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await rpc(token, "tenants.backup", {});
      expect(r.error).toBeUndefined();
      made.push(`s3://backups/tenants/acme/${r.result.location}`); // the tenant sees its key below its prefix
      await Bun.sleep(5);
    }
    const listed = (await rpc(token, "tenants.backups.list", {})).result.backups.map((b: { location: string }) => `s3://backups/tenants/acme/${b.location}`);
    expect(listed).toEqual([made[3]!, made[2]!]);
    expect(await keysUnder(`tenants/acme/${core.tenants.incarnation("acme")}/`)).toEqual([made[2]!, made[3]!].sort());
    // The operator's own backups of the tenant are not the tenant's to rotate.
    const admin = await core.backups.backup(scope("acme"), "s3://backups/", operatorCtx, { origin: "admin" });
    await rpc(token, "tenants.backup", {});
    expect(core.backups.list(scope("acme")).map((b) => b.backupId)).toContain(admin.backupId);
    expect(core.backups.list(scope("acme")).filter((b) => b.origin === "tenant")).toHaveLength(2);
    core.close();
  });

  test("hold at most backup.tenantMaxBytes: a larger one is refused and stores nothing; older ones make room", async () => {
    const core = testCore({ config: s3.config({ tenantMaxBytes: 600_000, tenantMinIntervalMinutes: 0 }) });
    const token = createTenant(core, "acme");
    const ws = path.join(core.tenants.dir(scope("acme")), "workspace");
    const { rpc } = testApp(core);
    fs.writeFileSync(path.join(ws, "big.bin"), crypto.randomBytes(1_000_000)); // random: does not compress
    const refused = await rpc(token, "tenants.backup", {});
    expect(refused.error.data.code).toBe("PAYLOAD_TOO_LARGE");
    expect(refused.error.message).toContain("backup.tenantMaxBytes");
    expect(core.backups.list(scope("acme"))).toEqual([]);
    expect(await keysUnder(`tenants/acme/${core.tenants.incarnation("acme")}/`)).toEqual([]);

    fs.rmSync(path.join(ws, "big.bin"));
    fs.writeFileSync(path.join(ws, "mid.bin"), crypto.randomBytes(250_000));
    const sizes: number[] = [];
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await rpc(token, "tenants.backup", {});
      expect(r.error).toBeUndefined();
      made.push(`s3://backups/tenants/acme/${r.result.location}`); // the tenant sees its key below its prefix
      sizes.push(r.result.sizeBytes);
      await Bun.sleep(5);
    }
    // Two ~250 KB archives fit in 600 KB, three do not: the oldest went.
    const kept = core.backups.list(scope("acme"));
    expect(kept.map((b) => b.location)).toEqual([made[2]!, made[1]!]);
    expect(kept.reduce((s, b) => s + b.sizeBytes, 0)).toBeLessThanOrEqual(600_000);
    expect(await keysUnder(`tenants/acme/${core.tenants.incarnation("acme")}/`)).toEqual([made[1]!, made[2]!].sort());
    core.close();
  });

  test("two tenants backing themselves up never hold every slot: the operator's backup still runs", async () => {
    const core = testCore({ config: s3.config() });
    const [a, b] = [createTenant(core, "alpha"), createTenant(core, "beta")];
    createTenant(core, "gamma");
    fs.writeFileSync(path.join(core.tenants.dir(scope("alpha")), "workspace", "data.bin"), crypto.randomBytes(2_000_000));
    const { rpc } = testApp(core);
    const first = rpc(a, "tenants.backup", {});
    const second = await rpc(b, "tenants.backup", {});
    expect(second.error.data.code).toBe("RATE_LIMITED");
    const admin = await core.backups.backup(scope("gamma"), "s3://backups/", operatorCtx, { origin: "admin" });
    expect(admin.tenantId).toBe("gamma");
    expect((await first).error).toBeUndefined();
    core.close();
  });
});
