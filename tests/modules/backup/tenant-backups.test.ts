// A tenant's own backups: at most one per backup.tenantMinIntervalMinutes (RATE_LIMITED with
// Retry-After, counted per incarnation, kept across a restart), the one tenant slot taken in turns
// (the first tenant refused goes next; the tenant that just had it waits behind), and what a tenant
// sees of its backups — never where the operator keeps its own.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ManualClock } from "../../../src/core/clock.ts";
import { createBackupSlots } from "../../../src/modules/backup/backup-slots.ts";
import { startS3, type S3World } from "../../helpers/backup.ts";
import { createTenant, makeHome, operatorCtx, testApp, testCore, scope } from "../../helpers/core.ts";

let s3: S3World;
beforeAll(async () => {
  s3 = await startS3(["backups", "other"]);
});
afterAll(async () => {
  await s3.close();
});

describe("how often a tenant may back itself up", () => {
  test("once per backup.tenantMinIntervalMinutes (default 15): sooner is RATE_LIMITED with when to retry; other tenants and the operator are not held", async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const home = makeHome();
    const core = testCore({ home, config: s3.config(), clock });
    const [a, b] = [createTenant(core, "alpha"), createTenant(core, "beta")];
    const { rpc } = testApp(core);
    expect((await rpc(a, "tenants.backup", {})).error).toBeUndefined();
    clock.advance(60_000);
    const again = await rpc(a, "tenants.backup", {});
    expect(again.error?.data?.code).toBe("RATE_LIMITED");
    expect(again.error.data.retryAfterSeconds).toBe(14 * 60);
    expect(again.error.message).toContain("backup.tenantMinIntervalMinutes");
    // Another tenant, and the operator's backup of alpha, are not limited by alpha's.
    expect((await rpc(b, "tenants.backup", {})).error).toBeUndefined();
    expect((await core.backups.backup(scope("alpha"), "s3://backups/", operatorCtx, { origin: "admin" })).tenantId).toBe("alpha");
    // Nothing was stored for the refused calls.
    expect(core.backups.list(scope("alpha")).map((x) => x.origin).sort()).toEqual(["admin", "tenant"]);
    core.close();

    // A restart does not reset the interval (the newest recorded self-backup stands in).
    const again2 = testCore({ home, clock });
    const r = await testApp(again2).rpc(a, "tenants.backup", {});
    expect(r.error?.data?.code).toBe("RATE_LIMITED");
    clock.advance(14 * 60_000);
    expect((await testApp(again2).rpc(a, "tenants.backup", {})).error).toBeUndefined();
    again2.close();
  });

  test("a failed attempt counts too (a backup over the cap had uploaded as much); 0 turns the interval off", async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const core = testCore({ config: s3.config({ tenantMaxBytes: 1000 }), clock });
    const a = createTenant(core, "alpha");
    fs.writeFileSync(path.join(core.tenants.dir(scope("alpha")), "workspace", "x.bin"), crypto.randomBytes(200_000));
    const { rpc } = testApp(core);
    expect((await rpc(a, "tenants.backup", {})).error.data.code).toBe("PAYLOAD_TOO_LARGE");
    expect((await rpc(a, "tenants.backup", {})).error.data.code).toBe("RATE_LIMITED");
    core.close();

    const off = testCore({ config: s3.config({ tenantMinIntervalMinutes: 0 }), clock });
    const t = createTenant(off, "alpha");
    for (let i = 0; i < 3; i++) expect((await testApp(off).rpc(t, "tenants.backup", {})).error).toBeUndefined();
    off.close();
  });
});

describe("the tenant backup slot is taken in turns", () => {
  test("over RPC: the tenant refused first goes next; a later one waits behind it", async () => {
    const core = testCore({ config: s3.config() });
    const [a, b, c] = ["alpha", "beta", "gamma"].map((id) => createTenant(core, id)) as [string, string, string];
    fs.writeFileSync(path.join(core.tenants.dir(scope("alpha")), "workspace", "data.bin"), crypto.randomBytes(8_000_000));
    const { rpc } = testApp(core);
    const first = rpc(a, "tenants.backup", {});
    await Bun.sleep(5);
    expect((await rpc(b, "tenants.backup", {})).error?.data?.code).toBe("RATE_LIMITED"); // beta: first in line
    expect((await rpc(c, "tenants.backup", {})).error?.data?.code).toBe("RATE_LIMITED"); // gamma: second
    expect((await first).error).toBeUndefined();
    // The slot is free, but gamma and alpha wait for beta, who asked first.
    const gamma = await rpc(c, "tenants.backup", {});
    expect(gamma.error?.message).toContain("waiting for their turn");
    expect((await rpc(a, "tenants.backup", {})).error?.data?.code).toBe("RATE_LIMITED");
    expect((await rpc(b, "tenants.backup", {})).error).toBeUndefined();
    expect((await rpc(c, "tenants.backup", {})).error).toBeUndefined();
    core.close();
  });

  test("the rule, with a clock: a waiter that stops asking loses its place; the operator never waits in the line", () => {
    let t = 0;
    const slots = createBackupSlots(2, 1, () => t);
    const alpha = slots.acquire("alpha", true);
    expect(() => slots.acquire("beta", true)).toThrow("as many tenant backups");
    expect(slots.waiting()).toEqual(["beta"]);
    slots.acquire("gamma", false).release(); // the operator's backup of another tenant
    alpha.release();
    expect(() => slots.acquire("alpha", true)).toThrow("waiting for their turn");
    t += 16_000; // beta did not come back within three Retry-After periods
    slots.acquire("alpha", true).release();
    expect(slots.waiting()).toEqual([]);
  });
});

describe("what a tenant sees of its backups", () => {
  test("ids, times, sizes, hashes and who made them; a key only for its own, below its prefix; no host path, no bucket", async () => {
    const core = testCore({ config: s3.config() });
    const a = createTenant(core, "alpha");
    const { rpc } = testApp(core);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-operator-bk-"));
    const hostFile = path.join(dir, "alpha-nightly.tar.zst");
    const viaFile = await core.backups.backup(scope("alpha"), hostFile, operatorCtx, { origin: "operator" });
    const viaOther = await core.backups.backup(scope("alpha"), "s3://other/", operatorCtx, { origin: "admin" });
    const own = await rpc(a, "tenants.backup", {});
    expect(own.error).toBeUndefined();
    const inc = core.tenants.incarnation("alpha")!;
    expect(Object.keys(own.result).sort()).toEqual(["backupId", "createdAt", "location", "origin", "sha256", "sizeBytes"]);
    expect(own.result.location).toMatch(new RegExp(`^${inc}/\\d{8}T\\d{6}Z-${own.result.backupId}\\.tar\\.zst$`));

    const listed = (await rpc(a, "tenants.backups.list", {})).result.backups;
    expect(listed.map((b: { backupId: string }) => b.backupId).sort()).toEqual([viaFile.backupId, viaOther.backupId, own.result.backupId].sort());
    for (const b of listed) {
      const full = core.backups.get(b.backupId);
      expect({ size: b.sizeBytes, sha: b.sha256, at: b.createdAt }).toEqual({ size: full.sizeBytes, sha: full.sha256, at: full.createdAt });
      expect(b.origin).toBe(b.backupId === own.result.backupId ? "tenant" : "operator");
      if (b.backupId !== own.result.backupId) expect(b.location).toBeUndefined();
    }
    const text = JSON.stringify(listed) + JSON.stringify(own.result);
    for (const secret of [dir, hostFile, "s3://", "other", "backups", core.home]) expect({ secret, shown: text.includes(secret) }).toEqual({ secret, shown: false });
    // The operator still sees every location.
    expect(core.backups.list(scope("alpha")).map((b) => b.location)).toContain(hostFile);
    fs.rmSync(dir, { recursive: true, force: true });
    core.close();
  });
});
