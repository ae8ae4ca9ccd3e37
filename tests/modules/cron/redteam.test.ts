// Red-team regressions (REDTEAM-CRON.md): the minimum interval holds at fire time whatever the
// expression, and skipped runs are pruned like finished ones (a job skipped forever does not grow
// cron_runs without bound).
import { afterEach, describe, expect, test } from "bun:test";
import { checkSchedule } from "../../../src/modules/cron/schedule.ts";
import { createTenant, operatorCtx, scope } from "../../helpers/core.ts";
import { cronWorld, MIN, START, type CronWorld } from "./world.ts";

let w: CronWorld | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

describe("cron red-team regressions", () => {
  test("F1: an expression whose close pair lies past the sampled fire times never fires closer than minIntervalSeconds", async () => {
    // Every hour at :00, :05, ... :55 and :56 — a 1-minute pair. Added at :55:30, the twelve sampled
    // times (:56, then :00 … :50 of the next hour) are all ≥ 4 minutes apart, so the add-time check passes.
    const expr = "0,5,10,15,20,25,30,35,40,45,50,55,56 * * * *";
    const at = START + 55 * MIN + 30_000;
    expect(checkSchedule({ kind: "cron", expr }, at, 3 * MIN)).toEqual({ kind: "cron", expr, tz: "UTC" });
    w = cronWorld({ now: at, config: { gateway: { cron: { minIntervalSeconds: 180 } } } });
    const job = w.add("alpha", { schedule: { kind: "cron", expr } });
    await w.runUntil(START + 3 * 60 * MIN);
    const times = w.runs("alpha", job.id).map((r) => r.scheduledAtMs).sort((a, b) => a - b);
    expect(times.length).toBeGreaterThan(10);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(3 * MIN);
  });

  test("F2/F3: skipped runs are pruned to runsKeptPerJob; a run outlived by them keeps its record and ends cleanly", async () => {
    w = cronWorld({ config: { gateway: { cron: { runsKeptPerJob: 3 } } } });
    const job = w.add("alpha", { schedule: { kind: "every", everyMs: MIN }, payload: { kind: "exec", command: "sleep", args: ["4"] } });
    w.clock.set(START + MIN);
    w.timers.fireDue();
    await Bun.sleep(300); // the first run is going
    for (let i = 2; i <= 9; i++) {
      w.clock.set(START + i * MIN);
      w.timers.fireDue();
    }
    const kept = w.core.cron.runs(scope("alpha"), { id: job.id, limit: 100 }).items;
    expect(kept.filter((r) => r.status === "skipped").length).toBeLessThanOrEqual(3);
    expect(kept.filter((r) => r.status === "running").length).toBe(1);
    // F3: the long run, outlived by more skipped times than are kept, ends: its record is kept (not
    // pruned by its own end), its slot is given back, and nothing is thrown out of the recording.
    await w.settle();
    const after = w.core.cron.runs(scope("alpha"), { id: job.id, limit: 100 }).items;
    expect(after.find((r) => r.scheduledAtMs === START + MIN)?.status).toBe("ok");
    expect(w.core.cronEngine.executions.runningCount()).toBe(0);
  });

  test("F4: deleting a tenant mid-run gives its concurrency slots back; a tenant created again under the id starts with none", async () => {
    w = cronWorld();
    const job = w.add("alpha", { schedule: { kind: "every", everyMs: 60 * MIN }, payload: { kind: "exec", command: "sleep", args: ["5"] } });
    await w.core.cron.runNow(scope("alpha"), job.id, operatorCtx);
    await Bun.sleep(300);
    expect(w.core.cronEngine.executions.runningCount()).toBe(1);
    w.core.tenants.remove(scope("alpha"), operatorCtx);
    const deadline = Date.now() + 10_000;
    while (w.core.cronEngine.executions.runningCount() > 0 && Date.now() < deadline) await Bun.sleep(50);
    expect(w.core.cronEngine.executions.runningCount()).toBe(0);
    createTenant(w.core, "alpha");
    expect(w.core.cron.status(scope("alpha")).runningCount).toBe(0);
  });
});
