// Disk a run holds that no name shows (red team 11 #5): a file unlinked while open keeps its blocks,
// and a walk of the tenant's directory never sees it. The watchdog counts the unlinked files the
// run's processes hold open (/proc/<pid>/fd) against the tenant's limit, and under the reserve it
// kills the run that grew, not every run. Real backends; the reserve case on a tmpfs made for it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createTenant, testApp, testCore } from "../../helpers/core.ts";
import { ensureSandboxImage, MODES, sandboxWorld, type SandboxWorld } from "../../helpers/sandbox.ts";

const MiB = 1024 * 1024;

beforeAll(async () => {
  await ensureSandboxImage();
});

/** Opens `count` files, unlinks each at once, writes `mb` MiB into each through its descriptor, then holds them. */
function holdUnlinked(count: number, mb: number, holdSeconds: number): string {
  const fds = Array.from({ length: count }, (_, i) => 7 + i);
  const open = fds.map((fd, i) => `exec ${fd}<>/work/u${i}; rm /work/u${i}`).join("; ");
  const write = fds.map((fd) => `dd if=/dev/zero bs=1M count=${mb} >&${fd} 2>/dev/null`).join("; ");
  return `${open}; ${write}; echo held; sleep ${holdSeconds}; echo survived`;
}

for (const m of MODES.filter((x) => x.label !== "runsc")) {
  describe(`unlinked files held open count against the tenant's limit (${m.label})`, () => {
    let w: SandboxWorld;
    beforeAll(() => {
      w = sandboxWorld(m, { sandbox: { limits: { diskMb: 16, timeoutSeconds: 30 } } });
    });
    afterAll(() => w?.core.close());

    test("a run that writes files, unlinks them and keeps them open past the limit is killed; another tenant's run is not", async () => {
      const { rpc } = testApp(w.core);
      // Each file stays under the per-file cap (RLIMIT_FSIZE = the limit); together they hold 36 MiB.
      const other = rpc(w.beta, "sandbox.exec", { command: "/bin/sh", args: ["-c", "sleep 6; echo beta-done"] });
      const r = await rpc(w.alpha, "sandbox.exec", { command: "/bin/sh", args: ["-c", holdUnlinked(3, 12, 25)] });
      expect(r.error).toBeUndefined();
      expect(r.result).toMatchObject({ killedReason: "disk-limit", timedOut: false, signal: "SIGKILL" });
      expect(r.result.stdout).not.toContain("survived");
      expect(r.result.durationMs).toBeLessThan(15_000);
      // Nothing of it is left by name: the walk alone would have called the tenant empty.
      expect(fs.readdirSync(w.workspace("alpha"))).toEqual([]);
      const b = (await other).result;
      expect({ exit: b.exitCode, killed: b.killedReason, out: b.stdout }).toEqual({ exit: 0, killed: null, out: "beta-done\n" });
      // The files went with the run: the tenant may run again.
      expect((await rpc(w.alpha, "sandbox.exec", { command: "true" })).result).toMatchObject({ exitCode: 0, killedReason: null });
    }, 60_000);
  });
}

describe("under the reserve, the run that grew is killed, not every run", () => {
  // A 192 MiB tmpfs holds the whole home; 128 MiB of it is the reserve. The tenants' own limits (4 GiB) are far away.
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-held-"));
  let mounted = false;
  let core: ReturnType<typeof testCore>;
  let alpha: string;
  let beta: string;
  beforeAll(() => {
    const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=192m,mode=0700", "openclaw-held-test", mnt], { stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`cannot mount the test filesystem: ${r.stderr.toString()}`);
    mounted = true;
    fs.mkdirSync(path.join(mnt, "home"), { mode: 0o700 });
    core = testCore({ home: path.join(mnt, "home"), config: { gateway: { diskReserveMb: 128 }, sandbox: { mode: "bwrap", limits: { diskMb: 4096, timeoutSeconds: 40 } } } });
    alpha = createTenant(core, "alpha");
    beta = createTenant(core, "beta");
  });
  afterAll(() => {
    core?.close();
    if (mounted) Bun.spawnSync(["umount", "-l", mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  });

  test("a run holding unlinked files that take the disk under the reserve is killed alone", async () => {
    const { rpc } = testApp(core);
    const other = rpc(beta, "sandbox.exec", { command: "/bin/sh", args: ["-c", "sleep 8; echo beta-done"] });
    await Bun.sleep(500);
    const r = await rpc(alpha, "sandbox.exec", { command: "/bin/sh", args: ["-c", holdUnlinked(3, 30, 30)] });
    expect(r.error).toBeUndefined();
    expect(r.result).toMatchObject({ killedReason: "disk-reserve", timedOut: false });
    expect(r.result.stdout).not.toContain("survived");
    // The run that only slept is not punished for another's writes.
    const b = (await other).result;
    expect({ exit: b.exitCode, killed: b.killedReason, out: b.stdout }).toEqual({ exit: 0, killed: null, out: "beta-done\n" });
    // The space came back with the run's end.
    const free = fs.statfsSync(mnt);
    expect(free.bavail * free.bsize).toBeGreaterThan(150 * MiB);
  }, 60_000);
});
