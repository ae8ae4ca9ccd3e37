// Disk limits on sandbox runs, in every backend (bwrap, docker, docker + gVisor): a file cannot grow
// past the tenant's limit, fallocate reserves nothing, a run that writes past the limit in many files
// (or floods inodes) is killed and says why, and the tenant is then refused until it deletes; and the
// reserve: on a small filesystem made for the test (the real disk is never filled), a run that takes
// the free space under the reserve is killed, tenant writes are refused, and the gateway's own
// audited changes still succeed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { verifyAuditFiles } from "../../../src/modules/audit/audit.verify.ts";
import { createTenant, operatorCtx, testApp, testCore, scope } from "../../helpers/core.ts";
import { ensureSandboxImage, MODES, placeInWorkspace, sandboxWorld, type SandboxWorld } from "../../helpers/sandbox.ts";

const MiB = 1024 * 1024;

beforeAll(async () => {
  await ensureSandboxImage();
});

const FALLOCATE_C = `#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
int main(int argc, char **argv) {
  int fd = open(argv[1], O_WRONLY | O_CREAT, 0600);
  if (fd < 0) { printf("open=%s\\n", strerrorname_np(errno)); return 2; }
  int a = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1LL << 30);
  printf("keep_size=%s\\n", a == 0 ? "ok" : strerrorname_np(errno));
  int b = fallocate(fd, 0, 0, 1LL << 30);
  printf("extend=%s\\n", b == 0 ? "ok" : strerrorname_np(errno));
  struct stat st; fstat(fd, &st);
  printf("blocks=%lld\\n", (long long)st.st_blocks);
  return 0;
}
`;

let fallocateBinary: string | null = null;
function compileFallocate(): string {
  if (fallocateBinary) return fallocateBinary;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-fallocate-"));
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, "fa.c"), FALLOCATE_C);
  const r = Bun.spawnSync(["gcc", "-static", "-O2", "-o", path.join(dir, "fa"), path.join(dir, "fa.c")], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`cannot compile the fallocate probe: ${r.stderr.toString()}`);
  return (fallocateBinary = path.join(dir, "fa"));
}

/** Allocated bytes under a directory, measured with du (independent of the gateway's own walk). */
function duBytes(dir: string): number {
  const r = Bun.spawnSync(["du", "-s", "-B1", dir], { stdout: "pipe" });
  return Number(r.stdout.toString().split(/\s/)[0]);
}

function emptyWorkspace(w: SandboxWorld, tenant: string): void {
  const ws = w.workspace(tenant);
  for (const name of fs.readdirSync(ws)) fs.rmSync(path.join(ws, name), { recursive: true, force: true });
  w.core.disk?.invalidate(scope(tenant));
}

for (const m of MODES) {
  describe(`disk limits in sandbox runs (${m.label})`, () => {
    const w = sandboxWorld(m, { sandbox: { limits: { diskMb: 16, inodes: 400, timeoutSeconds: 30 } } });
    const { rpc } = testApp(w.core);
    afterAll(() => w.core.close());

    test("one file cannot grow past the tenant's limit: the write is refused at the limit", async () => {
      emptyWorkspace(w, "alpha");
      const r = await rpc(w.alpha, "sandbox.exec", { command: "/bin/sh", args: ["-c", "dd if=/dev/zero of=/work/big bs=1M count=64; echo rc=$?"] });
      expect(r.error).toBeUndefined();
      expect(r.result.stdout).not.toContain("rc=0");
      expect(fs.statSync(path.join(w.workspace("alpha"), "big")).size).toBeLessThanOrEqual(16 * MiB);
    });

    test("fallocate reserves nothing inside the sandbox", async () => {
      emptyWorkspace(w, "alpha");
      placeInWorkspace(w, "alpha", compileFallocate(), "fa");
      const r = await rpc(w.alpha, "sandbox.exec", { command: "/work/fa", args: ["/work/pre.bin"] });
      expect(r.error).toBeUndefined();
      const want = m.label === "runsc" ? "EPERM" : "EOPNOTSUPP"; // gVisor answers every errno rule with EPERM
      expect(r.result.stdout).toBe(`keep_size=${want}\nextend=${want}\nblocks=0\n`);
      expect(duBytes(w.workspace("alpha"))).toBeLessThan(4 * MiB);
    });

    test("writing past the limit in many files kills the run and says why; the tenant is refused until it deletes", async () => {
      emptyWorkspace(w, "alpha");
      const r = await rpc(w.alpha, "sandbox.exec", { command: "/bin/sh", args: ["-c", "i=0; while :; do i=$((i+1)); dd if=/dev/zero of=/work/f$i bs=1M count=1 2>/dev/null; done"] });
      expect(r.error).toBeUndefined();
      expect(r.result).toMatchObject({ killedReason: "disk-limit", timedOut: false, signal: "SIGKILL" });
      expect(r.result.durationMs).toBeLessThan(20_000);
      // Stopped near the limit: what one watchdog interval lets a run write, not the whole disk.
      expect(duBytes(w.core.tenants.dir(scope("alpha")))).toBeLessThan(16 * MiB + 256 * MiB);

      const again = await rpc(w.alpha, "sandbox.exec", { command: "true" });
      expect(again.error.data.code).toBe("QUOTA_EXCEEDED");
      expect(again.error.message).toMatch(/over its disk limit.*sandbox\.limits\.diskMb.*delete files/);
      const write = await rpc(w.alpha, "files.write", { path: "note.txt", content: "x" });
      expect(write.error.data.code).toBe("QUOTA_EXCEEDED");
      // The other tenant is not affected.
      expect((await rpc(w.beta, "sandbox.exec", { command: "true" })).result.exitCode).toBe(0);

      const listed = await rpc(w.alpha, "files.list", {});
      for (const e of listed.result.entries) expect((await rpc(w.alpha, "files.delete", { path: e.path, recursive: true })).error).toBeUndefined();
      expect((await rpc(w.alpha, "sandbox.exec", { command: "true" })).result).toMatchObject({ exitCode: 0, killedReason: null });
    }, 60_000);

    test("an inode flood (many empty files) is stopped at the limit of names", async () => {
      emptyWorkspace(w, "alpha");
      const r = await rpc(w.alpha, "sandbox.exec", { command: "/bin/sh", args: ["-c", "i=0; while :; do i=$((i+1)); : > /work/n$i || exit 3; done"] });
      expect(r.error).toBeUndefined();
      expect(r.result).toMatchObject({ killedReason: "disk-limit", timedOut: false });
      const info = await rpc(w.alpha, "sandbox.info", {});
      expect(info.result.disk).toMatchObject({ limitInodes: 400, overLimit: true });
      expect(info.result.limits).toMatchObject({ diskMb: 16, inodes: 400 });
      emptyWorkspace(w, "alpha");
    }, 60_000);
  });
}

describe("the reserve: the gateway's own state never starves", () => {
  // A 192 MiB tmpfs holds the whole home (state.db, audit.log, tenants); 128 MiB of it is the reserve.
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-reserve-"));
  let mounted = false;
  let w: SandboxWorld;
  beforeAll(() => {
    const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=192m,mode=0700", "openclaw-reserve-test", mnt], { stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`cannot mount the test filesystem: ${r.stderr.toString()}`);
    mounted = true;
    fs.mkdirSync(path.join(mnt, "home"), { mode: 0o700 });
    const core = testCore({
      home: path.join(mnt, "home"),
      config: { gateway: { diskReserveMb: 128 }, sandbox: { mode: "bwrap", allowedModes: ["bwrap", "docker"], limits: { diskMb: 4096, timeoutSeconds: 60 } } },
    });
    w = { core, alpha: createTenant(core, "alpha"), beta: createTenant(core, "beta"), workspace: (t) => path.join(core.tenants.dir(scope(t)), "workspace") };
  });
  afterAll(() => {
    w?.core.close();
    if (mounted) Bun.spawnSync(["umount", "-l", mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  });

  for (const mode of ["bwrap", "docker"] as const) {
    test(`a ${mode} run that takes the free space under the reserve is killed; tenant writes are refused; the gateway's audited changes succeed`, async () => {
      const { rpc } = testApp(w.core);
      // Steady writes (1 MiB every 20 ms): the tenant's own limit (4 GiB) is far away; the reserve is not.
      const r = await rpc(w.alpha, "sandbox.exec", { mode, command: "/bin/sh", args: ["-c", "i=0; while :; do i=$((i+1)); dd if=/dev/zero of=/work/r$i bs=1M count=1 2>/dev/null; sleep 0.02; done"] });
      expect(r.error).toBeUndefined();
      expect(r.result).toMatchObject({ killedReason: "disk-reserve", timedOut: false });
      const free = fs.statfsSync(mnt);
      expect(free.bavail * free.bsize).toBeGreaterThan(96 * MiB); // stopped within a few MiB of the reserve

      // Every tenant's writes wait (without being told the host's free space); so do new runs.
      for (const token of [w.alpha, w.beta]) {
        const write = await rpc(token, "files.write", { path: "small.txt", content: "x" });
        expect(write.error.data.code).toBe("UNAVAILABLE");
        expect(write.error.message).toBe("the gateway is short of disk space: changes by tenants (file writes, sandbox runs, config, tokens, backups) are paused until the operator frees some");
        expect((await rpc(token, "sandbox.exec", { command: "true" })).error.data.code).toBe("UNAVAILABLE");
      }

      // The gateway's own state changes still commit, with their audit records.
      const before = w.core.audit.head().seq;
      w.core.tenants.suspend(scope("beta"), operatorCtx);
      w.core.tenants.resume(scope("beta"), operatorCtx);
      createTenant(w.core, `gamma-${mode}`);
      expect(w.core.audit.head().seq).toBe(before + 3);
      expect(verifyAuditFiles([w.core.audit.file], { anchor: w.core.audit, liveFile: w.core.audit.file }).ok).toBe(true);

      // Once the operator frees space, tenants write again.
      for (const name of fs.readdirSync(w.workspace("alpha"))) fs.rmSync(path.join(w.workspace("alpha"), name), { force: true });
      w.core.disk?.invalidate(scope("alpha"));
      expect((await rpc(w.alpha, "files.write", { path: "small.txt", content: "x" })).error).toBeUndefined();
    }, 60_000);
  }
});
