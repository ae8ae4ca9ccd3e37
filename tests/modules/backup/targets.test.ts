// Where an admin's backups may go and restores come from: never into the gateway's home (state.db, a
// tenant's workspace) nor through a symbolic link, never over a file that is not one of our backups
// or that another tenant's record points at, S3 keys only under the tenant's own prefix, and a delete
// or --keep prune never removes an object its record no longer describes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { PutObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { BackupTable } from "../../../src/modules/backup/backup.sql.ts";
import { startS3, type S3World } from "../../helpers/backup.ts";
import { adminKey, createTenant, makeHome, operatorCtx, testApp, testCore, scope } from "../../helpers/core.ts";

let s3: S3World;
beforeAll(async () => {
  s3 = await startS3(["backups"]);
});
afterAll(async () => {
  await s3.close();
});

const sha = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
const client = () => new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });

function world() {
  const core = testCore({ config: s3.config() });
  createTenant(core, "acme");
  createTenant(core, "beta");
  fs.writeFileSync(path.join(core.tenants.dir(scope("acme")), "workspace", "a.txt"), "acme's");
  return { core, key: adminKey(core), ...testApp(core) };
}

describe("file targets", () => {
  test("the live state.db, a tenant's workspace, or anything else inside the home is refused, overwrite or not", async () => {
    const { core, key, call } = world();
    const db = path.join(core.home, "state.db");
    const before = sha(db);
    const res = await call("POST", "/admin/v1/tenants/acme/backups", { token: key, body: { to: db, overwrite: true } });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toContain("inside the gateway's home");
    expect(sha(db)).toBe(before);
    expect(core.tenants.list()).toHaveLength(2); // the database still works
    const intoBeta = path.join(core.tenants.dir(scope("beta")), "workspace", "acme.tar.zst");
    const other = await call("POST", "/admin/v1/tenants/acme/backups", { token: key, body: { to: intoBeta } });
    expect(other.status).toBe(400);
    expect(fs.existsSync(intoBeta)).toBe(false);
    fs.mkdirSync(path.join(core.home, "run"), { recursive: true });
    for (const to of [path.join(core.home, "x.tar.zst"), path.join(core.home, "run", "x.tar.zst"), path.join(core.home, "tenants", "x.tar.zst")]) {
      await expect(core.backups.backup(scope("acme"), to, operatorCtx, { origin: "admin" })).rejects.toThrow("inside the gateway's home");
    }
    expect(core.backups.list(scope("acme"))).toEqual([]);
    core.close();
  });

  test("a symbolic link anywhere on the way (into the home, or anywhere) is refused", async () => {
    const { core } = world();
    const outside = makeHome();
    fs.symlinkSync(path.join(core.tenants.dir(scope("beta")), "workspace"), path.join(outside, "to-beta"));
    await expect(core.backups.backup(scope("acme"), path.join(outside, "to-beta", "a.tar.zst"), operatorCtx, { origin: "admin" })).rejects.toThrow("symbolic link");
    expect(fs.readdirSync(path.join(core.tenants.dir(scope("beta")), "workspace"))).toEqual([]);
    const elsewhere = makeHome();
    fs.symlinkSync(elsewhere, path.join(outside, "dir-link"));
    await expect(core.backups.backup(scope("acme"), path.join(outside, "dir-link", "a.tar.zst"), operatorCtx, { origin: "admin" })).rejects.toThrow("symbolic link");
    fs.symlinkSync(path.join(core.home, "state.db"), path.join(outside, "db-link"));
    await expect(core.backups.backup(scope("acme"), path.join(outside, "db-link"), operatorCtx, { origin: "admin", overwrite: true })).rejects.toThrow("is a symbolic link");
    expect(fs.readdirSync(elsewhere)).toEqual([]);
    core.close();
  });

  test("overwrite replaces only one of our backups, and never one another tenant's record points at", async () => {
    const { core } = world();
    const dir = makeHome();
    const foreign = path.join(dir, "notes.txt");
    fs.writeFileSync(foreign, "not a backup");
    await expect(core.backups.backup(scope("acme"), foreign, operatorCtx, { origin: "admin", overwrite: true })).rejects.toThrow("is not an openclaw backup");
    expect(fs.readFileSync(foreign, "utf8")).toBe("not a backup");
    const zst = path.join(dir, "other.tar.zst");
    fs.writeFileSync(zst, Bun.zstdCompressSync(Buffer.from("some other zstd file")));
    await expect(core.backups.backup(scope("acme"), zst, operatorCtx, { origin: "admin", overwrite: true })).rejects.toThrow("is not an openclaw backup");

    const file = path.join(dir, "acme.tar.zst");
    const first = await core.backups.backup(scope("acme"), file, operatorCtx, { origin: "admin" });
    const second = await core.backups.backup(scope("acme"), file, operatorCtx, { origin: "admin", overwrite: true });
    // The first record described the archive just replaced: one record per place.
    expect(core.backups.list(scope("acme")).map((b) => b.backupId)).toEqual([second.backupId]);
    expect(first.backupId).not.toBe(second.backupId);
    const before = sha(file);
    await expect(core.backups.backup(scope("beta"), file, operatorCtx, { origin: "admin", overwrite: true })).rejects.toThrow(`holds backup ${second.backupId} of another tenant`);
    expect(sha(file)).toBe(before);
    expect(core.backups.list(scope("beta"))).toEqual([]);
    core.close();
  });
});

describe("S3 keys", () => {
  test("a tenant's keys lie under its own prefix only", async () => {
    const { core, key, call } = world();
    for (const to of ["s3://backups/tenants/beta/acme.tar.zst", "s3://backups/tenants/beta/", "s3://backups/prod/acme.tar.zst", "s3://backups/tenants/acme/tenants/beta/x.tar.zst", "s3://backups/tenants/acme"]) {
      const res = await call("POST", "/admin/v1/tenants/acme/backups", { token: key, body: { to } });
      expect({ to, status: res.status }).toEqual({ to, status: 400 });
      expect(res.json.error.message).toContain('S3 keys of tenant "acme" must lie under its prefix');
    }
    expect(core.backups.list(scope("acme"))).toEqual([]);
    const ok = await core.backups.backup(scope("acme"), "s3://backups/prod/tenants/acme/nightly.tar.zst", operatorCtx, { origin: "admin" });
    expect(ok.location).toBe("s3://backups/prod/tenants/acme/nightly.tar.zst");
    const generated = await core.backups.backup(scope("acme"), "s3://backups/prod/", operatorCtx, { origin: "admin" });
    expect(generated.location).toMatch(new RegExp(`^s3://backups/prod/tenants/acme/${core.tenants.incarnation("acme")}/\\d{8}T\\d{6}Z-[0-9a-f]{16}\\.tar\\.zst$`));
    core.close();
  });
});

describe("delete and --keep remove only what the record still describes", () => {
  test("a file replaced since, or shared with another record, is left alone; the stale record goes", async () => {
    const { core } = world();
    const dir = makeHome();
    const a = path.join(dir, "a.tar.zst");
    const b = await core.backups.backup(scope("acme"), a, operatorCtx, { origin: "admin" });
    fs.writeFileSync(a, "the operator's own file now");
    await core.backups.backup(scope("acme"), path.join(dir, "b.tar.zst"), operatorCtx, { origin: "admin", keep: 1 });
    expect(fs.readFileSync(a, "utf8")).toBe("the operator's own file now");
    expect(core.backups.list(scope("acme")).map((x) => x.backupId)).not.toContain(b.backupId);
    const deleted = core.audit.query({ action: "tenant.backup.delete" })[0]!;
    expect(deleted.details).toMatchObject({ backupId: b.backupId, objectDeleted: false });

    // Two records at one place (written before records were checked): neither prune takes the object.
    const c = await core.backups.backup(scope("acme"), path.join(dir, "c.tar.zst"), operatorCtx, { origin: "admin" });
    const row = core.handle.db.select().from(BackupTable).all().find((r) => r.id === c.backupId)!;
    core.handle.db.insert(BackupTable).values({ ...row, id: "dup-of-c", tenantId: "beta", incarnation: core.tenants.incarnation("beta")! }).run();
    const r = await core.backups.delete(c.backupId, operatorCtx);
    expect(r.objectDeleted).toBe(false);
    expect(fs.existsSync(path.join(dir, "c.tar.zst"))).toBe(true);
    // An archive still as recorded is deleted.
    const d = await core.backups.backup(scope("acme"), path.join(dir, "d.tar.zst"), operatorCtx, { origin: "admin" });
    expect((await core.backups.delete(d.backupId, operatorCtx)).objectDeleted).toBe(true);
    expect(fs.existsSync(path.join(dir, "d.tar.zst"))).toBe(false);
    core.close();
  });

  test("an S3 object that now holds something else is left alone", async () => {
    const { core } = world();
    const b = await core.backups.backup(scope("acme"), "s3://backups/", operatorCtx, { origin: "admin" });
    const objectKey = b.location.slice("s3://backups/".length);
    const c = client();
    await c.send(new PutObjectCommand({ Bucket: "backups", Key: objectKey, Body: "replaced by someone else" }));
    await core.backups.backup(scope("acme"), "s3://backups/", operatorCtx, { origin: "admin", keep: 1 });
    const head = await c.send(new HeadObjectCommand({ Bucket: "backups", Key: objectKey }));
    expect(head.ContentLength).toBe("replaced by someone else".length);
    c.destroy();
    expect(core.backups.list(scope("acme"))).toHaveLength(1);
    core.close();
  });
});

describe("restore sources", () => {
  test("an archive inside the home (a tenant's workspace) or behind a link is refused, changing nothing", async () => {
    const { core } = world();
    const dir = makeHome();
    const good = path.join(dir, "acme.tar.zst");
    await core.backups.backup(scope("acme"), good, operatorCtx, { origin: "admin" });
    const planted = path.join(core.tenants.dir(scope("beta")), "workspace", "acme.tar.zst");
    fs.copyFileSync(good, planted);
    await expect(core.backups.restore(planted, operatorCtx, { as: "acme-copy" })).rejects.toThrow("inside the gateway's home");
    const link = path.join(dir, "via-link");
    fs.symlinkSync(path.join(core.tenants.dir(scope("beta")), "workspace"), link);
    await expect(core.backups.restore(path.join(link, "acme.tar.zst"), operatorCtx, { as: "acme-copy" })).rejects.toThrow("symbolic link");
    expect(core.tenants.exists("acme-copy")).toBe(false);
    expect(core.audit.query({ action: "tenant.restore" }).map((r) => r.outcome)).toEqual(["denied", "denied"]);
    // The same archive from outside the home restores.
    expect((await core.backups.restore(good, operatorCtx, { as: "acme-copy" })).tenantId).toBe("acme-copy");
    core.close();
  });
});
