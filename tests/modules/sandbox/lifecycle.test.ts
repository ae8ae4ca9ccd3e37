// A tenant's stop ends what it runs: suspend, delete, a restore over it, the end of the token that
// started a run, and the same changes made by another process (the CLI) kill its live sandbox runs
// within about a second — in bwrap and in docker — and each result says why. After a delete, the
// dying run holds no slot of the tenant created again under its id, and the old directory is
// removed once the run is gone (it never writes into the trash after that).
import { beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { RunResult, SandboxRequest } from "../../../src/modules/sandbox/sandbox.types.ts";
import { createTenant, operatorCtx, testApp, testCore, scope } from "../../helpers/core.ts";
import { ensureSandboxImage, MODES, sandboxWorld, type SandboxWorld } from "../../helpers/sandbox.ts";

beforeAll(async () => {
  await ensureSandboxImage();
});

/** Killed within this long of the change (the old code let `sleep 30` run to its end). */
const KILL_BOUND_MS = 2000;

interface Started {
  result: Promise<RunResult>;
  /** When the run ended (performance.now()). */
  endedAt: Promise<number>;
}

/** Starts `echo started; <script>` and resolves once the command has printed "started". */
async function startRun(w: SandboxWorld, tenantId: string, extra: Partial<SandboxRequest> = {}, script = "sleep 30"): Promise<Started> {
  let seen!: () => void;
  const running = new Promise<void>((r) => (seen = r));
  let out = "";
  const result = w.core.sandbox.run({
    tenant: scope(tenantId),
    command: ["/bin/sh", "-c", `echo started; ${script}`],
    timeoutSeconds: 40,
    origin: "rpc",
    onStdout: (c) => {
      out += new TextDecoder().decode(c);
      if (out.includes("started")) seen();
    },
    ...extra,
  });
  result.catch(() => seen());
  await Promise.race([running, result]);
  return { result, endedAt: result.then(() => performance.now(), () => performance.now()) };
}

/** The run's result, or a failure naming how long it kept running after the change. */
async function endsWithin(run: Started, changedAt: number, bound = KILL_BOUND_MS): Promise<{ result: RunResult; ms: number }> {
  const timer = Bun.sleep(bound + 3000).then(() => "still running" as const);
  const first = await Promise.race([run.result, timer]);
  expect({ afterChange: first === "still running" ? `still running ${bound + 3000} ms after the change` : "ended" }).toEqual({ afterChange: "ended" });
  const ms = (await run.endedAt) - changedAt;
  return { result: first as RunResult, ms };
}

for (const m of MODES.filter((x) => x.label !== "runsc")) {
  describe(`${m.label}: a tenant's stop kills its live runs`, () => {
    test("suspend: the run is killed within about a second and says why; another tenant's run goes on", async () => {
      const w = sandboxWorld(m);
      const mine = await startRun(w, "alpha");
      const other = await startRun(w, "beta", {}, "sleep 2; echo done");
      const t0 = performance.now();
      w.core.tenants.suspend(scope("alpha"), operatorCtx);
      const { result, ms } = await endsWithin(mine, t0);
      console.log(`${m.label}: run killed ${Math.round(ms)} ms after suspend`);
      expect(ms).toBeLessThan(KILL_BOUND_MS);
      expect(result.killedReason).toBe("tenant-suspended");
      expect(result.signal).toBe("SIGKILL");
      const b = await other.result;
      expect({ exit: b.exitCode, killed: b.killedReason, out: b.stdout }).toEqual({ exit: 0, killed: null, out: "started\ndone\n" });
      w.core.close();
    }, 60_000);

    test("delete: killed, no slot of the tenant created again is held, and the old directory is wiped once the run is gone", async () => {
      const w = sandboxWorld(m, { sandbox: { maxConcurrentPerTenant: 1 } });
      const ws = w.workspace("alpha");
      const mine = await startRun(w, "alpha", {}, "i=0; while [ $i -lt 400 ]; do echo x >> /work/log; sleep 0.05; i=$((i+1)); done");
      const trash = path.join(w.core.home, "tenants", ".trash");
      const t0 = performance.now();
      w.core.tenants.remove(scope("alpha"), operatorCtx);
      // The id is taken again at once; its first run may start while the old one is still dying.
      createTenant(w.core, "alpha");
      const fresh = w.core.sandbox.run({ tenant: scope("alpha"), command: ["/bin/sh", "-c", "ls -A /work; echo new"], origin: "rpc" });
      const { result, ms } = await endsWithin(mine, t0);
      console.log(`${m.label}: run killed ${Math.round(ms)} ms after delete`);
      expect(ms).toBeLessThan(KILL_BOUND_MS);
      expect(result.killedReason).toBe("tenant-deleted");
      const n = await fresh;
      expect({ exit: n.exitCode, out: n.stdout }).toEqual({ exit: 0, out: "new\n" });
      // The old directory (in the trash) goes once the run has ended; nothing writes there afterwards.
      for (let i = 0; i < 50 && fs.existsSync(trash) && fs.readdirSync(trash).length > 0; i++) await Bun.sleep(100);
      expect(fs.existsSync(trash) ? fs.readdirSync(trash) : []).toEqual([]);
      expect(fs.readdirSync(ws)).toEqual([]);
      w.core.close();
    }, 60_000);
  });
}

describe("bwrap: other stops", () => {
  test("a token rotated without grace ends the runs it started; the operator's run goes on", async () => {
    const w = sandboxWorld(MODES[0]!);
    const app = testApp(w.core);
    let out = "";
    const viaRpc = app.rpc(w.alpha, "sandbox.exec", { command: "/bin/sh", args: ["-c", "sleep 30"], timeoutSeconds: 40 });
    const operator = await startRun(w, "alpha", {}, "sleep 2; echo done");
    // Wait until the RPC run is live too.
    for (let i = 0; i < 100 && w.core.sandbox.liveRuns("alpha") < 2; i++) await Bun.sleep(50);
    expect(w.core.sandbox.liveRuns("alpha")).toBe(2);
    await Bun.sleep(300);
    const t0 = performance.now();
    w.core.tenants.rotateToken(scope("alpha"), 0, operatorCtx);
    const r = await Promise.race([viaRpc, Bun.sleep(KILL_BOUND_MS + 3000).then(() => null)]);
    const ms = performance.now() - t0;
    expect(r === null ? "still running" : "ended").toBe("ended");
    expect(ms).toBeLessThan(KILL_BOUND_MS);
    expect(r!.result?.killedReason).toBe("token-revoked");
    const o = await operator.result;
    out = o.stdout;
    expect({ killed: o.killedReason, out }).toEqual({ killed: null, out: "started\ndone\n" });
    w.core.close();
  }, 60_000);

  test("a restore over the tenant (--force) kills the replaced tenant's runs", async () => {
    const w = sandboxWorld(MODES[0]!);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-lifecycle-bk-"));
    const file = path.join(dir, "alpha.tar.zst");
    await w.core.backups.backup(scope("alpha"), file, operatorCtx, { origin: "operator" });
    const mine = await startRun(w, "alpha");
    const t0 = performance.now();
    const restoring = w.core.backups.restore(file, operatorCtx, { force: true });
    const { result, ms } = await endsWithin(mine, t0, 5000);
    expect(result.killedReason).toBe("tenant-replaced");
    expect((await restoring).replaced).toBe(true);
    console.log(`bwrap: run killed ${Math.round(ms)} ms after the restore began`);
    fs.rmSync(dir, { recursive: true, force: true });
    w.core.close();
  }, 60_000);

  test("a suspension made by another process (the CLI) is noticed and the run killed", async () => {
    const w = sandboxWorld(MODES[0]!);
    const mine = await startRun(w, "alpha");
    const cli = testCore({ home: w.core.home });
    const t0 = performance.now();
    cli.tenants.suspend(scope("alpha"), operatorCtx);
    const { result, ms } = await endsWithin(mine, t0);
    console.log(`bwrap: run killed ${Math.round(ms)} ms after another process suspended the tenant`);
    expect(ms).toBeLessThan(KILL_BOUND_MS);
    expect(result.killedReason).toBe("tenant-suspended");
    cli.close();
    w.core.close();
  }, 60_000);

  test("a tenant stopped while its run was starting is refused, and nothing runs", async () => {
    const w = sandboxWorld(MODES[0]!);
    await w.core.sandbox.status(); // the self-test done, so the run below reaches its slot at once
    const run = w.core.sandbox.run({ tenant: scope("alpha"), command: ["/bin/sh", "-c", "echo ran > /work/ran"], origin: "rpc" });
    w.core.tenants.suspend(scope("alpha"), operatorCtx);
    await expect(run).rejects.toThrow('tenant "alpha" is suspended');
    expect(fs.existsSync(path.join(w.workspace("alpha"), "ran"))).toBe(false);
    w.core.close();
  }, 60_000);
});
