// files.write and restore against the tenant's disk limits (sandbox.limits.diskMb / .inodes): a write
// that would not fit is refused with QUOTA_EXCEEDED naming the limit and writes nothing; the limit
// covers the whole tenant directory; the overlay may only lower it; a restore larger than a tenant
// may hold, or one that would take the disk under the reserve, is refused and leaves nothing.
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createTenant, makeHome, operatorCtx, testApp, testCore, scope } from "../../helpers/core.ts";

const MiB = 1024 * 1024;
const mb = (n: number) => Buffer.alloc(n * MiB, 7).toString("base64");

function world(limits: Record<string, number>, gateway: Record<string, unknown> = {}, home?: string) {
  // Bodies of a few MiB (base64 content) are allowed over RPC here.
  const core = testCore({ home, config: { gateway: { limits: { rpcBodyBytes: 16 * MiB }, ...gateway }, sandbox: { limits } } });
  const alpha = createTenant(core, "alpha");
  const beta = createTenant(core, "beta");
  return { core, alpha, beta, ...testApp(core) };
}

describe("files.write within the tenant's disk limit", () => {
  test("writes until the limit, then refuses with QUOTA_EXCEEDED naming the limit; nothing of the refused write lands", async () => {
    const w = world({ diskMb: 8 });
    const results: (string | null)[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await w.rpc(w.alpha, "files.write", { path: `f${i}.bin`, content: mb(1), encoding: "base64" });
      results.push(r.error ? r.error.data.code : null);
      if (r.error) {
        expect(r.error.message).toMatch(/would take the tenant's directory past its disk limit: .* used of 8\.0 MiB \(sandbox\.limits\.diskMb\)/);
        expect(r.error.data).toMatchObject({ limitBytes: 8 * MiB });
      }
    }
    expect(results.slice(0, 7)).toEqual(Array(7).fill(null));
    expect(results.slice(8)).toEqual(["QUOTA_EXCEEDED", "QUOTA_EXCEEDED"]);
    const ws = path.join(w.core.tenants.dir(scope("alpha")), "workspace");
    expect(fs.readdirSync(ws).filter((n) => n.startsWith(".openclaw-tmp"))).toEqual([]);
    const du = Number(Bun.spawnSync(["du", "-s", "-B1", w.core.tenants.dir(scope("alpha"))], { stdout: "pipe" }).stdout.toString().split(/\s/)[0]);
    expect(du).toBeLessThanOrEqual(8 * MiB);
    // Another tenant's room is its own.
    expect((await w.rpc(w.beta, "files.write", { path: "b.bin", content: mb(1), encoding: "base64" })).error).toBeUndefined();
    // Overwriting in place (no growth) still works; appending past the limit does not.
    expect((await w.rpc(w.alpha, "files.write", { path: "f0.bin", content: mb(1), encoding: "base64" })).error).toBeUndefined();
    expect((await w.rpc(w.alpha, "files.write", { path: "f0.bin", content: mb(2), encoding: "base64", mode: "append" })).error.data.code).toBe("QUOTA_EXCEEDED");
    // Deleting makes room again.
    expect((await w.rpc(w.alpha, "files.delete", { path: "f1.bin" })).error).toBeUndefined();
    expect((await w.rpc(w.alpha, "files.write", { path: "again.bin", content: mb(1), encoding: "base64" })).error).toBeUndefined();
    w.core.close();
  });

  test("the limit covers the whole tenant directory, not only the workspace", async () => {
    const w = world({ diskMb: 4 });
    fs.writeFileSync(path.join(w.core.tenants.dir(scope("alpha")), "sessions", "big.jsonl"), Buffer.alloc(4 * MiB, 1));
    w.core.disk?.invalidate(scope("alpha"));
    const r = await w.rpc(w.alpha, "files.write", { path: "x.txt", content: "x" });
    expect(r.error.data.code).toBe("QUOTA_EXCEEDED");
    expect(r.error.message).toContain("over its disk limit");
    w.core.close();
  });

  test("a flood of names (mkdirs, many small files) stops at sandbox.limits.inodes", async () => {
    const w = world({ inodes: 20 });
    const deep = await w.rpc(w.alpha, "files.write", { path: `${Array(30).fill("d").join("/")}/leaf.txt`, content: "x", mkdirs: true });
    expect(deep.error.data.code).toBe("QUOTA_EXCEEDED");
    expect(deep.error.message).toContain("sandbox.limits.inodes");
    let refused = 0;
    for (let i = 0; i < 30; i++) if ((await w.rpc(w.alpha, "files.write", { path: `n${i}`, content: "" })).error?.data.code === "QUOTA_EXCEEDED") refused++;
    expect(refused).toBeGreaterThan(0);
    const names = Number(Bun.spawnSync(["sh", "-c", `find ${w.core.tenants.dir(scope("alpha"))} -mindepth 1 | wc -l`], { stdout: "pipe" }).stdout.toString());
    expect(names).toBeLessThanOrEqual(20);
    w.core.close();
  });

  test("a tenant overlay may lower its disk limits, never raise them", async () => {
    const w = world({ diskMb: 8, inodes: 1000 });
    const raise = await w.rpc(w.alpha, "config.set", { config: { sandbox: { limits: { diskMb: 9 } } } });
    expect(raise.error.data.code).toBe("CONFIG_INVALID");
    expect(raise.error.message).toContain("sandbox.limits.diskMb");
    expect((await w.rpc(w.alpha, "config.set", { config: { sandbox: { limits: { diskMb: 1 } } } })).error).toBeUndefined();
    const r = await w.rpc(w.alpha, "files.write", { path: "two.bin", content: mb(2), encoding: "base64" });
    expect(r.error.data.code).toBe("QUOTA_EXCEEDED");
    expect(r.error.message).toContain("of 1.0 MiB");
    const info = await w.rpc(w.alpha, "sandbox.info", {});
    expect(info.result.disk).toMatchObject({ limitBytes: 1 * MiB, limitInodes: 1000, overLimit: false });
    expect(info.result.disk.usedBytes).toBeGreaterThan(0);
    w.core.close();
  });
});

describe("restore within the tenant's disk limit and the reserve", () => {
  const homes: string[] = [];
  afterAll(() => {
    for (const h of homes) fs.rmSync(h, { recursive: true, force: true });
  });

  test("an archive holding more than a tenant may hold is refused, and nothing of it is left", async () => {
    const source = world({ diskMb: 64 });
    fs.writeFileSync(path.join(source.core.tenants.dir(scope("alpha")), "workspace", "big.bin"), Buffer.alloc(12 * MiB, 3));
    const file = path.join(makeHome(), "alpha.tar.zst");
    homes.push(path.dirname(file));
    await source.core.backups.backup(scope("alpha"), file, operatorCtx, { origin: "operator" });
    source.core.close();

    const target = world({ diskMb: 8 });
    await expect(target.core.backups.restore(file, operatorCtx, { as: "copy" })).rejects.toThrow(/larger than a tenant may hold .*sandbox\.limits\.diskMb/);
    expect(fs.existsSync(path.join(path.dirname(target.core.tenants.dir(scope("alpha"))), "copy"))).toBe(false);
    expect(fs.readdirSync(path.dirname(target.core.tenants.dir(scope("alpha")))).filter((n) => n.startsWith(".restore-"))).toEqual([]);
    expect(() => target.core.tenants.get(scope("copy"))).toThrow();
    // Within the ceiling it restores.
    const roomy = world({ diskMb: 64 });
    expect((await roomy.core.backups.restore(file, operatorCtx, { as: "copy" })).tenantId).toBe("copy");
    target.core.close();
    roomy.core.close();
  });

  test("a restore that would take the filesystem under the reserve is refused", async () => {
    // The home on a small filesystem of its own (the real disk is never filled).
    const mnt = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-restore-reserve-"));
    homes.push(mnt);
    const m = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=96m,mode=0700", "openclaw-restore-reserve", mnt]);
    expect(m.exitCode).toBe(0);
    try {
      const source = world({ diskMb: 64 });
      fs.writeFileSync(path.join(source.core.tenants.dir(scope("alpha")), "workspace", "big.bin"), Buffer.alloc(40 * MiB, 3));
      const file = path.join(makeHome(), "alpha.tar.zst");
      homes.push(path.dirname(file));
      await source.core.backups.backup(scope("alpha"), file, operatorCtx, { origin: "operator" });
      source.core.close();

      fs.mkdirSync(path.join(mnt, "home"), { mode: 0o700 });
      const target = world({ diskMb: 64 }, { diskReserveMb: 64 }, path.join(mnt, "home"));
      await expect(target.core.backups.restore(file, operatorCtx, { as: "copy" })).rejects.toThrow(/under its reserve \(gateway\.diskReserveMb/);
      expect(fs.existsSync(path.join(path.dirname(target.core.tenants.dir(scope("alpha"))), "copy"))).toBe(false);
      expect(fs.readdirSync(path.join(mnt, "home", "tenants")).filter((n) => n.startsWith(".restore-"))).toEqual([]);
      target.core.close();
    } finally {
      Bun.spawnSync(["umount", "-l", mnt]);
    }
  });
});
