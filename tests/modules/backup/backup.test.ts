// Backup and restore against a real S3-compatible server (s3rver) and files: byte-identical round
// trips (thousands of files and a 200 MB one), --as, --force, encryption, tampering, history and
// retention, the tenant and admin surfaces, audit records, and S3 failures that leave nothing behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { Writable } from "node:stream";
import type { Core } from "../../../src/app/core.ts";
import { FORMAT, FORMAT_VERSION } from "../../../src/modules/backup/archive-format.ts";
import { writeArchive } from "../../../src/modules/backup/archive-write.ts";
import { ChunkReader } from "../../../src/modules/backup/chunk-reader.ts";
import { SandboxRunTable } from "../../../src/modules/sandbox/sandbox.sql.ts";
import { DailySums } from "../../../src/modules/usage/usage-daily.ts";
import { UsageLedgerTable } from "../../../src/modules/usage/usage.sql.ts";
import { progressLine } from "../../../src/cli/progress.ts";
import { startS3, type S3World } from "../../helpers/backup.ts";
import { adminKey, createTenant, makeHome, operatorCtx, testApp, testCore, scope } from "../../helpers/core.ts";
import { cli } from "../../helpers/cli.ts";

let s3: S3World;
beforeAll(async () => {
  s3 = await startS3(["backups", "other"]);
});
afterAll(async () => {
  await s3.close();
});

function treeDigest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(e.parentPath, e.name);
    const rel = path.relative(dir, p);
    if (e.isDirectory()) out[rel] = "dir";
    else if (e.isFile()) out[rel] = crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex");
    else out[rel] = "other";
  }
  return out;
}

function seedUsage(core: Core, tenantId: string, n: number) {
  const now = core.clock.now();
  const incarnation = core.tenants.incarnation(tenantId)!;
  const rows = Array.from({ length: n }, (_, i) => ({
    id: crypto.randomUUID(),
    tenantId,
    incarnation,
    requestId: `req_${i}`,
    model: i % 2 ? "m-a" : "m-b",
    provider: "p",
    upstreamModel: "u",
    stream: false,
    status: "ok" as const,
    inputTokens: 10 + i,
    outputTokens: 5,
    totalTokens: 15 + i,
    costMicroUsd: 100 + i,
    reservedTokens: 100,
    reservedMicroUsd: 1000,
    inputBound: 50,
    rates: "{}",
    startedAt: now - i * 3_600_000,
    endedAt: now - i * 3_600_000 + 5,
  }));
  core.handle.db.insert(UsageLedgerTable).values(rows).run();
  const sums = new DailySums();
  for (const r of rows) sums.add(r);
  sums.write(core.handle.sqlite);
  core.handle.db.insert(SandboxRunTable).values({ id: crypto.randomUUID(), tenantId, incarnation, mode: "bwrap", origin: "rpc", startedAt: now, durationMs: 1234 }).run();
}

function usageOf(core: Core, tenantId: string) {
  const h = core.usage.history({ tenant: scope(tenantId), from: "2020-01-01" });
  return h.map((r) => ({ ...r, tenantId: "x", incarnation: "x" }));
}

describe("round trips", () => {
  test("S3: thousands of files and one 200 MB file come back byte-identical, with the old token, quotas and usage", async () => {
    const core = testCore({ config: s3.config() });
    const token = createTenant(core, "acme");
    core.tenants.setQuota(scope("acme"), { tokensPerDay: 4242, requestsPerMinute: 7 }, operatorCtx);
    core.overlays.set(scope("acme"), { agent: { systemPrompt: "be brief" } }, operatorCtx);
    const root = core.tenants.dir(scope("acme"));
    for (let i = 0; i < 3000; i++) {
      const d = path.join(root, "workspace", `d${i % 40}`, `e${i % 7}`);
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, `f${i}.txt`), `file number ${i}\n`.repeat(1 + (i % 13)));
    }
    fs.writeFileSync(path.join(root, "workspace", "empty.txt"), "");
    const big = crypto.randomBytes(200 * 1024 * 1024);
    fs.writeFileSync(path.join(root, "memory", "big.bin"), big);
    seedUsage(core, "acme", 30);
    const before = treeDigest(root);
    const usageBefore = usageOf(core, "acme");
    const quotaBefore = core.tenants.get(scope("acme")).quota;

    const b = await core.backups.backup(scope("acme"), "s3://backups/prod/tenants/acme/acme-1.tar.zst", operatorCtx, { origin: "operator" });
    expect(b).toMatchObject({ tenantId: "acme", location: "s3://backups/prod/tenants/acme/acme-1.tar.zst", encrypted: false, files: 3003 });
    expect(b.sizeBytes).toBeGreaterThan(200 * 1024 * 1024); // random data does not compress
    expect(core.backups.list(scope("acme")).map((x) => x.backupId)).toEqual([b.backupId]);

    core.tenants.remove(scope("acme"), operatorCtx);
    expect(core.tokens.verify(token).ok).toBe(false);
    const r = await core.backups.restore("s3://backups/prod/tenants/acme/acme-1.tar.zst", operatorCtx);
    expect(r).toMatchObject({ tenantId: "acme", sourceTenant: "acme", token: null, replaced: false, files: 3003, archiveSha256: b.sha256 });
    expect(treeDigest(root)).toEqual(before);
    expect(core.tokens.verify(token).ok).toBe(true);
    expect(core.tenants.get(scope("acme")).quota).toEqual(quotaBefore);
    expect(usageOf(core, "acme")).toEqual(usageBefore);
    expect(core.sandbox.seconds(scope("acme")).runs).toBe(1);
    expect(core.overlays.load(scope("acme"))).toEqual({ agent: { systemPrompt: "be brief" } });
    core.close();
  }, 180_000);

  test("file: large files read through the shared chunks keep their own digests and bytes", async () => {
    // More chunks than the reader has slots, sizes on and off a chunk boundary, small files between:
    // a chunk reused before the compressor or the hashing thread is done with it would show here.
    const core = testCore();
    createTenant(core, "acme");
    const ws = path.join(core.tenants.dir(scope("acme")), "workspace");
    const MiB = 1024 * 1024;
    // Five whose last read is shorter than 64 KiB (copied into zstd's gathering buffer, not passed
    // through): each must still give its chunk back, or the fifth would wait for one forever.
    const sizes: Record<string, number> = {
      "a.bin": 8 * MiB,
      "b.bin": 17 * MiB + 3,
      "c.txt": 100,
      "d.bin": 256 * 1024 + 1,
      "e.bin": 41 * MiB - 7,
      "t1.bin": 8 * MiB + 1,
      "t2.bin": 8 * MiB + 100,
      "t3.bin": 16 * MiB + 100,
      "t4.bin": 8 * MiB + 65_535,
      "t5.bin": 8 * MiB + 4096,
    };
    const want: Record<string, string> = {};
    for (const [name, size] of Object.entries(sizes)) {
      const data = crypto.randomBytes(size);
      fs.writeFileSync(path.join(ws, name), data);
      want[`tenant/workspace/${name}`] = crypto.createHash("sha256").update(data).digest("hex");
    }
    const before = treeDigest(core.tenants.dir(scope("acme")));
    const file = path.join(makeHome(), "chunks.tar.zst");
    const b = await core.backups.backup(scope("acme"), file, operatorCtx, { origin: "operator" });
    expect(b.sha256).toBe(crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex"));
    const tarBytes = zlib.zstdDecompressSync(fs.readFileSync(file));
    const at = tarBytes.lastIndexOf(Buffer.from('{"format":"openclawmu-backup"'));
    const manifest = JSON.parse(tarBytes.subarray(at, tarBytes.indexOf(0x0a, at)).toString()) as { entries: { path: string; sha256?: string }[] };
    for (const [p, hex] of Object.entries(want)) expect(manifest.entries.find((e) => e.path === p)?.sha256).toBe(hex);
    const r = await core.backups.restore(file, operatorCtx, { as: "copy" });
    expect(r.files).toBe(Object.keys(sizes).length);
    expect(treeDigest(core.tenants.dir(scope("copy")))).toEqual(before);
    core.close();
  }, 60_000);

  test("--as: a renamed copy beside the original, with a new token shown once", async () => {
    const core = testCore();
    const token = createTenant(core, "acme");
    fs.writeFileSync(path.join(core.tenants.dir(scope("acme")), "workspace", "a.txt"), "original");
    seedUsage(core, "acme", 3);
    const file = path.join(makeHome(), "acme.tar.zst");
    await core.backups.backup(scope("acme"), file, operatorCtx, { origin: "operator" });
    const r = await core.backups.restore(file, operatorCtx, { as: "acme-staging" });
    expect(r.tenantId).toBe("acme-staging");
    expect(r.token).toMatch(/^ocmu_acme-staging_[0-9A-Za-z]{28}$/);
    expect(core.tokens.verify(r.token!).ok).toBe(true);
    expect(core.tokens.verify(token)).toMatchObject({ ok: true, tenantId: "acme" });
    expect(fs.readFileSync(path.join(core.tenants.dir(scope("acme-staging")), "workspace", "a.txt"), "utf8")).toBe("original");
    expect(usageOf(core, "acme-staging")).toEqual(usageOf(core, "acme"));
    // Restoring the same name again is refused unless forced.
    await expect(core.backups.restore(file, operatorCtx, { as: "acme-staging" })).rejects.toThrow('tenant "acme-staging" already exists');
    await expect(core.backups.restore(file, operatorCtx, { as: "Bad_Id" })).rejects.toThrow("tenant id");
    core.close();
  });

  test("--force replaces an existing tenant atomically; without it nothing changes", async () => {
    const core = testCore();
    const token = createTenant(core, "acme");
    const ws = path.join(core.tenants.dir(scope("acme")), "workspace");
    fs.writeFileSync(path.join(ws, "kept.txt"), "from the backup");
    const file = path.join(makeHome(), "acme.tar.zst");
    await core.backups.backup(scope("acme"), file, operatorCtx, { origin: "operator" });
    fs.writeFileSync(path.join(ws, "kept.txt"), "changed later");
    fs.writeFileSync(path.join(ws, "new.txt"), "made after the backup");
    const rotated = core.tenants.rotateToken(scope("acme"), 0, operatorCtx).token;
    const before = treeDigest(core.tenants.dir(scope("acme")));
    await expect(core.backups.restore(file, operatorCtx)).rejects.toThrow("already exists; restore with --force");
    expect(treeDigest(core.tenants.dir(scope("acme")))).toEqual(before);
    expect(core.tokens.verify(rotated).ok).toBe(true);
    const r = await core.backups.restore(file, operatorCtx, { force: true });
    expect(r.replaced).toBe(true);
    expect(fs.readFileSync(path.join(ws, "kept.txt"), "utf8")).toBe("from the backup");
    expect(fs.existsSync(path.join(ws, "new.txt"))).toBe(false);
    expect(core.tokens.verify(token).ok).toBe(true);
    expect(core.tokens.verify(rotated).ok).toBe(false);
    expect(fs.readdirSync(path.join(core.home, "tenants")).sort()).toEqual(["acme"]);
    core.close();
  });

  test("encrypted: round trip with the key; refused without it, with another, or tampered anywhere", async () => {
    const key = "correct horse battery staple 1234";
    const core = testCore({ config: { backup: { encryptionKey: key } } });
    createTenant(core, "acme");
    fs.writeFileSync(path.join(core.tenants.dir(scope("acme")), "workspace", "secret.txt"), "tenant secret ".repeat(100_000));
    const file = path.join(makeHome(), "enc.tar.zst");
    const b = await core.backups.backup(scope("acme"), file, operatorCtx, { origin: "operator" });
    expect(b.encrypted).toBe(true);
    const bytes = fs.readFileSync(file);
    expect(bytes.subarray(0, 8).toString()).toBe("OCMUBAK1");
    expect(bytes.includes(Buffer.from("tenant secret"))).toBe(false);
    const r = await core.backups.restore(file, operatorCtx, { as: "acme2" });
    expect(fs.readFileSync(path.join(core.tenants.dir(scope("acme2")), "workspace", "secret.txt"), "utf8")).toBe("tenant secret ".repeat(100_000));

    const noKey = testCore();
    await expect(noKey.backups.restore(file, operatorCtx)).rejects.toThrow("the archive is encrypted; set backup.encryptionKey");
    const wrongKey = testCore({ config: { backup: { encryptionKey: "another key entirely, 0987654321" } } });
    await expect(wrongKey.backups.restore(file, operatorCtx)).rejects.toThrow("fails authentication");
    for (const at of [10, 40, 1000, Math.floor(bytes.length / 2), bytes.length - 5]) {
      const t = Buffer.from(bytes);
      t[at]! ^= 0x01;
      const p = path.join(makeHome(), "tampered.tar.zst");
      fs.writeFileSync(p, t);
      await expect(core.backups.restore(p, operatorCtx, { as: "tampered" })).rejects.toThrow(/refusing|encrypted|authentication/);
      expect(core.tenants.exists("tampered")).toBe(false);
    }
    const cut = path.join(makeHome(), "cut.tar.zst");
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 1000));
    await expect(core.backups.restore(cut, operatorCtx, { as: "tampered" })).rejects.toThrow(/truncated|authentication/);
    void r;
    for (const c of [core, noKey, wrongKey]) c.close();
  });

  test("a plain archive with one changed byte in a file is refused by its manifest", async () => {
    const core = testCore();
    createTenant(core, "acme");
    fs.writeFileSync(path.join(core.tenants.dir(scope("acme")), "workspace", "doc.txt"), "AAAAAAAAAAAAAAAA");
    const file = path.join(makeHome(), "plain.tar.zst");
    await core.backups.backup(scope("acme"), file, operatorCtx, { origin: "operator" });
    const tarBytes = zlib.zstdDecompressSync(fs.readFileSync(file));
    const at = tarBytes.indexOf(Buffer.from("AAAAAAAAAAAAAAAA"));
    expect(at).toBeGreaterThan(0);
    tarBytes[at] = 0x42;
    fs.writeFileSync(file, zlib.zstdCompressSync(tarBytes));
    await expect(core.backups.restore(file, operatorCtx, { as: "copy" })).rejects.toThrow('"tenant/workspace/doc.txt" does not match its size and SHA-256 in the manifest');
    expect(core.tenants.exists("copy")).toBe(false);
    expect(fs.readdirSync(path.join(core.home, "tenants")).sort()).toEqual(["acme"]);
    const refused = core.audit.query({ action: "tenant.restore" });
    expect(refused[0]).toMatchObject({ outcome: "denied", target: { id: "copy" } });
    core.close();
  });
});

describe("a sandbox racing a backup", () => {
  test("swapping a directory for a link to the outside never puts outside files in the archive", async () => {
    const core = testCore();
    createTenant(core, "acme");
    const ws = path.join(core.tenants.dir(scope("acme")), "workspace");
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), "backup-outside-"));
    fs.writeFileSync(path.join(outside, "loot.txt"), "OUTSIDE-CANARY ".repeat(20_000)); // large: read in chunks
    fs.writeFileSync(path.join(outside, "small.txt"), "OUTSIDE-CANARY");
    const swap = path.join(ws, "swap");
    fs.mkdirSync(swap);
    fs.writeFileSync(path.join(swap, "loot.txt"), "inside ".repeat(40_000));
    fs.writeFileSync(path.join(swap, "small.txt"), "inside");
    // What a tenant's sandbox can do to its own workspace, as fast as it can: move the directory
    // aside, put a link to the outside in its place, and back.
    const script = `
      const fs = require("fs");
      const [dir, outside] = process.argv.slice(1);
      const end = Date.now() + 6000;
      while (Date.now() < end) {
        try { fs.renameSync(dir, dir + ".old"); fs.symlinkSync(outside, dir); } catch {}
        try { fs.unlinkSync(dir); fs.renameSync(dir + ".old", dir); } catch {}
      }`;
    const racer = Bun.spawn(["bun", "-e", script, swap, outside], { stdout: "ignore", stderr: "ignore" });
    let ok = 0;
    let refused = 0;
    const deadline = performance.now() + 4000;
    for (let i = 0; performance.now() < deadline; i++) {
      const file = path.join(makeHome(), `race-${i}.tar.zst`);
      try {
        await core.backups.backup(scope("acme"), file, operatorCtx, { origin: "operator" });
        ok++;
        const bytes = zlib.zstdDecompressSync(fs.readFileSync(file));
        expect(bytes.includes(Buffer.from("OUTSIDE-CANARY"))).toBe(false);
      } catch (err) {
        expect((err as Error).message).toContain("changed while it was being backed up");
        refused++;
      }
    }
    racer.kill();
    await racer.exited;
    expect(ok + refused).toBeGreaterThan(5);
    expect(ok).toBeGreaterThan(0);
    core.close();
    fs.rmSync(outside, { recursive: true, force: true });
  }, 30_000);
});

describe("history, retention and audit", () => {
  test("list, delete, --keep N; every backup, restore and delete is audited", async () => {
    const core = testCore({ config: s3.config() });
    createTenant(core, "acme");
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const b = await core.backups.backup(scope("acme"), "s3://backups/keep/", operatorCtx, { origin: "operator", keep: 3 });
      ids.push(b.backupId);
      expect(b.location).toMatch(/^s3:\/\/backups\/keep\/tenants\/acme\/[0-9a-f]{16}\/\d{8}T\d{6}Z-[0-9a-f]{16}\.tar\.zst$/);
      await Bun.sleep(5);
    }
    const listed = core.backups.list(scope("acme"));
    expect(listed.map((b) => b.backupId)).toEqual(ids.slice(1).reverse());
    // --keep deleted the oldest archive from the bucket too.
    const { S3Client, ListObjectsV2Command } = await import("@aws-sdk/client-s3");
    const client = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
    const keys = ((await client.send(new ListObjectsV2Command({ Bucket: "backups", Prefix: "keep/" }))).Contents ?? []).map((o) => `s3://backups/${o.Key}`);
    client.destroy();
    expect(keys.sort()).toEqual(listed.map((b) => b.location).sort());
    await core.backups.delete(listed[0]!.backupId, operatorCtx);
    expect(core.backups.list(scope("acme"))).toHaveLength(2);
    await expect(core.backups.delete("nope", operatorCtx)).rejects.toThrow("not found");
    const actions = core.audit.query({ tenant: "acme" }).map((r) => `${r.action}:${r.outcome}`);
    expect(actions.filter((a) => a === "tenant.backup:ok")).toHaveLength(4);
    expect(actions.filter((a) => a === "tenant.backup.delete:ok")).toHaveLength(2);
    core.close();
  });

  test("a tenant backs itself up over RPC to the admin's bucket, under its own prefix, and lists only its own", async () => {
    const core = testCore({ config: s3.config() });
    const a = createTenant(core, "alpha");
    const b = createTenant(core, "beta");
    const { rpc } = testApp(core);
    const made = await rpc(a, "tenants.backup", {});
    expect(made.error).toBeUndefined();
    // (The tenant sees its key below its prefix, not the bucket: see tenant-backups.test.ts.)
    expect(made.result.location).toStartWith(`${core.tenants.incarnation("alpha")}/`);
    expect(made.result.origin).toBe("tenant");
    await rpc(b, "tenants.backup", {});
    const mine = await rpc(a, "tenants.backups.list", {});
    expect(mine.result.backups.map((x: { backupId: string }) => x.backupId)).toEqual([made.result.backupId]);
    expect((await rpc(a, "tenants.backups.list", { tenantId: "beta" })).error.data.code).toBe("NOT_FOUND");
    // There is no tenant method to restore or delete.
    expect((await rpc(a, "tenants.restore", { from: `s3://backups/tenants/alpha/${made.result.location}` })).error.code).toBe(-32601);
    expect((await rpc(a, "tenants.backups.delete", { backupId: made.result.backupId })).error.code).toBe(-32601);
    expect((await core.backups.listBucket("alpha", "backups")).map((o) => o.location)).toEqual([`s3://backups/tenants/alpha/${made.result.location}`]);
    core.close();
  });

  test("one backup or restore per tenant at a time, two in all, one of them for tenants' own; refusals leave the audit log alone", async () => {
    // (No interval between a tenant's own backups here: this is about the slots.)
    const core = testCore({ config: s3.config({ tenantMinIntervalMinutes: 0 }) });
    const [alpha, beta, gamma] = ["alpha", "beta", "gamma"].map((id) => createTenant(core, id)) as [string, string, string];
    createTenant(core, "delta");
    const { rpc } = testApp(core);
    const first = rpc(alpha, "tenants.backup", {});
    const second = await rpc(alpha, "tenants.backup", {});
    expect(second.error.data.code).toBe("RATE_LIMITED");
    expect(second.error.message).toContain('tenant "alpha" is already running');
    // A restore onto a tenant being backed up waits its turn too.
    await expect(core.backups.restore("s3://backups/none.tar.zst", operatorCtx, { as: "alpha", force: true })).rejects.toThrow(/already running/);
    // Tenants' own backups share one slot: another tenant waits, the operator does not.
    const third = await rpc(beta, "tenants.backup", {});
    expect(third.error.data.code).toBe("RATE_LIMITED");
    expect(third.error.message).toContain("as many tenant backups as it allows");
    const adminRun = core.backups.backup(scope("gamma"), "s3://backups/", operatorCtx, { origin: "admin" });
    await expect(core.backups.backup(scope("delta"), "s3://backups/", operatorCtx, { origin: "admin" })).rejects.toThrow("2 backups or restores are already running");
    const [a, g] = await Promise.all([first, adminRun]);
    expect(a.error).toBeUndefined();
    expect(g.tenantId).toBe("gamma");
    // With the slots free again, the refused tenant gets its backup.
    expect((await rpc(beta, "tenants.backup", {})).error).toBeUndefined();
    void gamma;
    const actions = core.audit.query({}).map((r) => `${r.action}:${r.outcome}`).filter((a) => a.startsWith("tenant.backup") || a.startsWith("tenant.restore"));
    expect(actions.sort()).toEqual(["tenant.backup:ok", "tenant.backup:ok", "tenant.backup:ok"]);
    core.close();
  });

  test("admin API: create, list, restore --as, delete", async () => {
    const core = testCore({ config: s3.config() });
    const key = adminKey(core);
    createTenant(core, "acme");
    const { call } = testApp(core);
    const made = await call("POST", "/admin/v1/tenants/acme/backups", { token: key, body: { to: "s3://backups/admin/tenants/acme/acme.tar.zst" } });
    expect(made.status).toBe(201);
    expect((await call("GET", "/admin/v1/tenants/acme/backups", { token: key })).json.backups).toHaveLength(1);
    const restored = await call("POST", "/admin/v1/restore", { token: key, body: { from: "s3://backups/admin/tenants/acme/acme.tar.zst", as: "acme-copy" } });
    expect(restored.status).toBe(201);
    expect(restored.json.token).toMatch(/^ocmu_acme-copy_/);
    const again = await call("POST", "/admin/v1/restore", { token: key, body: { from: "s3://backups/admin/tenants/acme/acme.tar.zst", as: "acme-copy" } });
    expect(again.status).toBe(409);
    expect((await call("DELETE", `/admin/v1/backups/${made.json.backupId}`, { token: key })).status).toBe(200);
    expect((await call("GET", "/admin/v1/tenants/acme/backups", { token: key })).json.backups).toHaveLength(0);
    const bad = await call("POST", "/admin/v1/tenants/acme/backups", { token: key, body: { to: "s3://backups/../etc/x" } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('".."');
    core.close();
  });
});

describe("S3 failures are clear and leave nothing behind", () => {
  const cases: [string, (c: Record<string, any>) => void, RegExp][] = [
    ["bad credentials", (c) => (c.backup.s3.secretAccessKey = "WRONG-SECRET") && (c.backup.s3.accessKeyId = "WRONG"), /access denied \(check backup\.s3 credentials\)/],
    ["a missing bucket", () => {}, /the bucket does not exist/],
    ["a refused connection", (c) => (c.backup.s3.endpoint = "http://127.0.0.1:9"), /connection refused/],
  ];
  for (const [label, edit, message] of cases) {
    test(label, async () => {
      const cfg = s3.config() as Record<string, any>;
      edit(cfg);
      const core = testCore({ config: cfg });
      createTenant(core, "acme");
      const bucket = label === "a missing bucket" ? "no-such-bucket" : "backups";
      await expect(core.backups.backup(scope("acme"), `s3://${bucket}/x/tenants/acme/acme.tar.zst`, operatorCtx, { origin: "operator" })).rejects.toThrow(message);
      expect(core.backups.list(scope("acme"))).toEqual([]);
      await expect(core.backups.restore(`s3://${bucket}/x/tenants/acme/acme.tar.zst`, operatorCtx, { as: "acme2" })).rejects.toThrow(message);
      expect(core.tenants.exists("acme2")).toBe(false);
      expect(fs.readdirSync(path.join(core.home, "tenants")).sort()).toEqual(["acme"]);
      expect(fs.readdirSync(path.join(core.home, "run")).filter((n) => n.startsWith("backup-"))).toEqual([]);
      const audited = core.audit.query({ outcome: "error" }).map((r) => r.action);
      expect(audited).toEqual(expect.arrayContaining(["tenant.backup", "tenant.restore"]));
      core.close();
    }, 30_000);
  }

  test("a missing object and a missing file say so", async () => {
    const core = testCore({ config: s3.config() });
    await expect(core.backups.restore("s3://backups/none/such.tar.zst", operatorCtx)).rejects.toThrow("no such object");
    await expect(core.backups.restore(path.join(os.tmpdir(), "no-such-backup.tar.zst"), operatorCtx)).rejects.toThrow("no such file");
    await expect(core.backups.restore("relative/path.tar.zst", operatorCtx)).rejects.toThrow("must be absolute");
    await expect(core.backups.restore("ftp://x/y", operatorCtx)).rejects.toThrow("unsupported location");
    core.close();
  });
});

describe("a file written to while it is read", () => {
  test("fails the backup (as tar warns) instead of archiving it torn", async () => {
    const core = testCore();
    createTenant(core, "acme");
    const file = path.join(core.tenants.dir(scope("acme")), "workspace", "busy.bin");
    fs.writeFileSync(file, crypto.randomBytes(64 * 1024 * 1024));
    // What a tenant's sandbox can do: keep writing inside the file (same size) while the backup reads it.
    const script = `
      const fs = require("fs");
      const fd = fs.openSync(process.argv[1], "r+");
      const b = Buffer.alloc(4096, 7);
      const end = Date.now() + 8000;
      for (let i = 0; Date.now() < end; i++) fs.writeSync(fd, b, 0, b.length, (i * 4096) % (64 * 1024 * 1024));`;
    const racer = Bun.spawn(["bun", "-e", script, file], { stdout: "ignore", stderr: "ignore" });
    try {
      const before = fs.statSync(file, { bigint: true }).mtimeNs;
      for (let i = 0; i < 100 && fs.statSync(file, { bigint: true }).mtimeNs === before; i++) await Bun.sleep(20);
      await expect(core.backups.backup(scope("acme"), path.join(makeHome(), "busy.tar.zst"), operatorCtx, { origin: "operator" })).rejects.toThrow(
        "tenant/workspace/busy.bin changed while it was being backed up",
      );
    } finally {
      racer.kill();
      await racer.exited;
      core.close();
    }
  }, 30_000);
});

describe("the backup's hashing thread", () => {
  test("stopping without an error fails the reads waiting on it instead of hanging them", async () => {
    const reader = new ChunkReader();
    (reader as unknown as { worker: Worker }).worker.terminate();
    const seq = reader.begin();
    const attempt = async () => {
      // More chunks than the reader has: with no thread to hand them back, one must wait, then fail.
      for (let i = 0; i < 8; i++) reader.consumed(await reader.read(seq, 16, (b) => b.fill(1, 0, 16).length && 16));
    };
    await expect(attempt()).rejects.toThrow("the hashing thread stopped");
    reader.close();
  });
});

describe("a store that fails mid-archive", () => {
  test("the backup fails with the store's error instead of waiting for chunks that never come back", async () => {
    const root = makeHome();
    for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(root, `big${i}.bin`), crypto.randomBytes(20 * 1024 * 1024));
    let seen = 0;
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        seen += chunk.length;
        cb(seen > 3 * 1024 * 1024 ? new Error("no space left on the store") : null);
      },
    });
    const header = { format: FORMAT, version: FORMAT_VERSION, tenantId: "acme", createdAt: new Date().toISOString(), gatewayVersion: "test", schemaVersion: 1 } as const;
    const started = performance.now();
    await expect(writeArchive({ header, tenantRoot: root, stateFiles: [], sink })).rejects.toThrow("no space left on the store");
    expect(performance.now() - started).toBeLessThan(10_000);
  }, 20_000);
});

describe("CLI", () => {
  test("tenants backup / backups / restore --as --json", async () => {
    const home = makeHome();
    await cli(home, ["tenants", "create", "acme"]);
    const file = path.join(makeHome(), "cli.tar.zst");
    const made = JSON.parse((await cli(home, ["tenants", "backup", "acme", "--to", file, "--json"])).out);
    expect(made).toMatchObject({ tenantId: "acme", location: file });
    expect((await cli(home, ["tenants", "backup", "acme", "--to", file])).err.trim()).toBe(`openclaw: ${file} already exists`);
    const listed = JSON.parse((await cli(home, ["tenants", "backups", "acme", "--json"])).out);
    expect(listed.backups.map((b: { backupId: string }) => b.backupId)).toEqual([made.backupId]);
    const restored = JSON.parse((await cli(home, ["tenants", "restore", "--from", file, "--as", "acme2", "--json"])).out);
    expect(Object.keys(restored)).toEqual(expect.arrayContaining(["tenantId", "token"]));
    expect(restored.tenantId).toBe("acme2");
    const human = await cli(home, ["tenants", "restore", "--from", file, "--as", "acme3"]);
    expect(human.out).toContain("Token (shown once, store it now): ocmu_acme3_");
    expect((await cli(home, ["tenants", "restore", "--from", file])).err.trim()).toBe('openclaw: tenant "acme" already exists; restore with --force to replace it, or --as <newid>');
  });

  test("the progress line shows bytes, rate and time left", () => {
    expect(progressLine("backup acme", 250_000_000, 1_000_000_000, 2000)).toBe("backup acme: 250.0 MB of 1.0 GB · 125.0 MB/s · 6s left");
    expect(progressLine("restore", 5_000, null, 1000)).toBe("restore: 5.0 KB · 5.0 KB/s");
  });
});
