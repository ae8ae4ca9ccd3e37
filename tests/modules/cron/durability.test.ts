// Jobs survive restarts: a missed run is caught up once within the grace window or skipped, per job;
// a scheduled time never fires twice, even when the gateway dies between the run's record and its
// start; suspended tenants' jobs do not fire (and are caught up after the resume); a suspend ends a
// running job; deleted tenants' jobs are gone; a backup carries them.
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createTenant, operatorCtx, scope } from "../../helpers/core.ts";
import type { PayloadRunner } from "../../../src/modules/cron/runner.ts";
import { cronWorld, MIN, START, type CronWorld } from "./world.ts";

const worlds: CronWorld[] = [];
const world = (o: Parameters<typeof cronWorld>[0] = {}) => {
  const w = cronWorld(o);
  worlds.push(w);
  return w;
};
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.stop().catch(() => {});
});

/** Wraps the real payload runner, counting the payloads started per job and scheduled time. */
function counting(w: CronWorld): string[] {
  const started: string[] = [];
  const real = w.core.cronEngine.runnerOf();
  const wrapped: PayloadRunner = (identity, job, runId, signal, onRef) => {
    started.push(job.name);
    return real(identity, job, runId, signal, onRef);
  };
  w.core.cronEngine.useRunner(wrapped);
  return started;
}

const rel = (runs: any[]) => runs.map((r) => [(r.scheduledAtMs - START) / MIN, r.trigger, r.status, r.error]);

describe("cron across restarts", () => {
  test("missed runs: catchUp once runs the latest missed time once (within the grace window); skip records one skipped run; beyond the grace it is skipped", async () => {
    const w1 = world();
    const once = w1.add("alpha", { name: "once", schedule: { kind: "every", everyMs: 10 * MIN } });
    const skip = w1.add("alpha", { name: "skip", catchUp: "skip", schedule: { kind: "every", everyMs: 10 * MIN } });
    const old = w1.add("alpha", { name: "old", schedule: { kind: "every", everyMs: 60 * MIN } });
    await w1.runUntil(START + MIN);
    await w1.stop();

    // Down for two and a half hours; the grace window is 20 minutes.
    const w2 = world({ home: w1.home, now: START + 155 * MIN, tenants: false, config: { gateway: { cron: { catchUpGraceSeconds: 1200 } } } });
    const started = counting(w2);
    await w2.runUntil(START + 155 * MIN);
    expect(rel(w2.runs("alpha", once.id))).toEqual([[150, "catch-up", "ok", null]]);
    expect(rel(w2.runs("alpha", skip.id))).toEqual([[10, "schedule", "skipped", "missed"]]);
    // Its latest missed time (120) is 35 minutes ago, beyond the grace: skipped, not run.
    expect(rel(w2.runs("alpha", old.id))).toEqual([[60, "schedule", "skipped", "missed"]]);
    expect(started).toEqual(["once"]);
    // Then each goes on from the next future time.
    expect(w2.core.cron.get(scope("alpha"), once.id).state.nextRunAtMs).toBe(START + 160 * MIN);
    expect(w2.core.cron.get(scope("alpha"), skip.id).state.nextRunAtMs).toBe(START + 160 * MIN);
    expect(w2.core.cron.get(scope("alpha"), old.id).state.nextRunAtMs).toBe(START + 180 * MIN);
    await w2.runUntil(START + 160 * MIN);
    expect(started.sort()).toEqual(["once", "once", "skip"]);
  });

  test("no double fire after a crash between the run's record and its start", async () => {
    const w1 = world();
    const job = w1.add("alpha", { name: "tick", schedule: { kind: "every", everyMs: MIN } });
    await w1.stop();
    // A real gateway process: it records the run for START+1min, then dies by SIGKILL as the payload starts.
    const child = Bun.spawn([process.execPath, path.join(import.meta.dir, "crash-child.ts"), w1.home, String(START + MIN)], { stdout: "inherit", stderr: "inherit" });
    expect(await child.exited).not.toBe(0);
    expect(child.signalCode).toBe("SIGKILL");

    const w2 = world({ home: w1.home, now: START + MIN + 5_000, tenants: false, start: false });
    const started = counting(w2);
    const recorded = w2.core.handle.sqlite.query("SELECT scheduled_at AS at, status FROM cron_runs").all();
    expect(recorded).toEqual([{ at: START + MIN, status: "running" }]);
    // Even if the job's next time were lost with the crash, the recorded time does not fire again.
    w2.core.handle.sqlite.query("UPDATE cron_jobs SET next_run_at = ?1, wake_at = ?1").run(START + MIN);
    w2.start();
    await w2.runUntil(START + MIN + 5_000);
    expect(started).toEqual([]);
    expect(rel(w2.runs("alpha", job.id))).toEqual([[1, "schedule", "error", "interrupted by restart: the gateway stopped before the run finished"]]);
    await w2.runUntil(START + 2 * MIN);
    expect(started).toEqual(["tick"]);
    expect(rel(w2.runs("alpha", job.id)).map((r) => r.slice(0, 3))).toEqual([
      [1, "schedule", "error"],
      [2, "schedule", "ok"],
    ]);
  }, 60_000);

  test("a suspended tenant's jobs do not fire; after the resume the missed time is caught up once; a suspend ends a running job", async () => {
    const w = world();
    const a = w.add("alpha", { name: "a", schedule: { kind: "every", everyMs: MIN } });
    const b = w.add("beta", { name: "b", schedule: { kind: "every", everyMs: MIN } });
    w.core.tenants.suspend(scope("alpha"), operatorCtx);
    await w.runUntil(START + 5 * MIN);
    expect(w.runs("alpha", a.id)).toEqual([]);
    expect(w.runs("beta", b.id).length).toBe(5);
    w.core.tenants.resume(scope("alpha"), operatorCtx);
    await w.runUntil(START + 7 * MIN);
    expect(rel(w.runs("alpha", a.id)).map((r) => r.slice(0, 3))).toEqual([
      [6, "catch-up", "ok"],
      [7, "schedule", "ok"],
    ]);

    const long = w.add("alpha", { name: "long", schedule: { kind: "every", everyMs: 10 * MIN }, payload: { kind: "exec", command: "sleep", args: ["20"] } });
    w.clock.set(START + 17 * MIN);
    w.timers.fireDue();
    await Bun.sleep(500);
    const t0 = Date.now();
    w.core.tenants.suspend(scope("alpha"), operatorCtx);
    await w.settle();
    expect(Date.now() - t0).toBeLessThan(10_000);
    const run = w.runs("alpha", long.id).at(-1);
    expect(run.status).toBe("error");
    expect(run.error).toContain("tenant-suspended");
  }, 60_000);

  test("a deleted tenant's jobs and runs are gone; a tenant created again under the id starts with none", async () => {
    const w = world();
    w.add("alpha", { schedule: { kind: "every", everyMs: MIN } });
    w.add("beta", { schedule: { kind: "every", everyMs: MIN } });
    await w.runUntil(START + MIN);
    w.core.tenants.remove(scope("alpha"), operatorCtx);
    const left = (t: string) => w.core.handle.sqlite.query("SELECT (SELECT count(*) FROM cron_jobs WHERE tenant_id = ?1) AS jobs, (SELECT count(*) FROM cron_runs WHERE tenant_id = ?1) AS runs").get(t);
    expect(left("alpha")).toEqual({ jobs: 0, runs: 0 });
    expect(left("beta")).toEqual({ jobs: 1, runs: 1 });
    createTenant(w.core, "alpha");
    expect(w.core.cron.list(scope("alpha"), {}).total).toBe(0);
    await w.runUntil(START + 2 * MIN);
    expect(left("alpha")).toEqual({ jobs: 0, runs: 0 });
  });

  test("a backup carries the jobs and runs; a restore brings them back and they fire again", async () => {
    const w = world();
    const job = w.add("alpha", { name: "kept", schedule: { kind: "every", everyMs: MIN } });
    await w.runUntil(START + MIN);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-cron-bk-"));
    const file = path.join(dir, "alpha.tar.zst");
    await w.core.backups.backup(scope("alpha"), file, operatorCtx, { origin: "operator" });
    w.core.tenants.remove(scope("alpha"), operatorCtx);
    await w.core.backups.restore(file, operatorCtx, {});
    const back = w.core.cron.get(scope("alpha"), job.id);
    expect(back.name).toBe("kept");
    expect(rel(w.runs("alpha", job.id))).toEqual([[1, "schedule", "ok", null]]);
    await w.runUntil(START + 2 * MIN);
    expect(w.runs("alpha", job.id).length).toBe(2);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
