// The scheduler on an injected clock: each schedule kind fires at its times through one timer, runs
// are recorded with their outcome, an overlapping run is skipped, and the gateway's caps hold.
import { afterEach, describe, expect, test } from "bun:test";
import { scope } from "../../helpers/core.ts";
import { cronWorld, MIN, START, type CronWorld } from "./world.ts";

let w: CronWorld | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

describe("cron scheduler", () => {
  test("every: fires at each interval with a real sandbox command; the run records its output", async () => {
    w = cronWorld();
    const job = w.add("alpha", { schedule: { kind: "every", everyMs: 5 * MIN }, payload: { kind: "exec", command: "echo", args: ["tick"] } });
    expect(job.state.nextRunAtMs).toBe(START + 5 * MIN);
    await w.runUntil(START + 16 * MIN);
    const runs = w.runs("alpha", job.id);
    expect(runs.map((r) => [r.scheduledAtMs - START, r.trigger, r.status, r.output])).toEqual([
      [5 * MIN, "schedule", "ok", "tick\n"],
      [10 * MIN, "schedule", "ok", "tick\n"],
      [15 * MIN, "schedule", "ok", "tick\n"],
    ]);
    expect(runs[0].runRef).toMatch(/\S/);
    expect(w.core.cron.get(scope("alpha"), job.id).state).toMatchObject({ nextRunAtMs: START + 20 * MIN, lastRunStatus: "ok", consecutiveErrors: 0 });
  });

  test("cron: fires at the expression's times in its zone; at: once, then the job is gone (deleteAfterRun)", async () => {
    w = cronWorld();
    const c = w.add("alpha", { schedule: { kind: "cron", expr: "0 3 * * *", tz: "Europe/Berlin" } });
    const at = w.add("alpha", { schedule: { kind: "at", at: new Date(START + 90 * MIN).toISOString() } });
    expect(at.deleteAfterRun).toBe(true);
    await w.runUntil(START + 2 * 86_400_000);
    // 03:00 Berlin summer time = 01:00Z.
    expect(w.runs("alpha", c.id).map((r) => new Date(r.scheduledAtMs).toISOString())).toEqual(["2026-06-01T01:00:00.000Z", "2026-06-02T01:00:00.000Z"]);
    expect(() => w!.core.cron.get(scope("alpha"), at.id)).toThrow("cron job not found");
    const atRuns = w.core.cron.runs(scope("alpha"), { limit: 100 }).items.filter((r) => r.jobId === at.id);
    expect(atRuns.map((r) => [r.scheduledAtMs - START, r.status])).toEqual([[90 * MIN, "ok"]]);
  });

  test("one timer for the whole gateway, armed for the earliest job; nothing fires before its time", async () => {
    w = cronWorld();
    for (let i = 0; i < 50; i++) w.add(i % 2 ? "alpha" : "beta", { schedule: { kind: "every", everyMs: (10 + i) * MIN } });
    expect(w.timers.size).toBe(1);
    expect(w.core.cronEngine.scheduler.nextWakeAt()).toBe(START + 10 * MIN);
    // The one timer sleeps at most RESYNC_MS (30 s) before looking again (a long sleep ends 1 s early
    // and is re-armed for the exact time).
    expect(w.timers.nextAt()).toBe(START + 29_000);
    await w.runUntil(START + 10 * MIN - 1);
    expect(w.core.cron.runs(scope("beta"), { limit: 10 }).total).toBe(0);
    await w.runUntil(START + 10 * MIN);
    expect(w.core.cron.runs(scope("beta"), { limit: 10 }).total).toBe(1);
    expect(w.timers.size).toBe(1);
  });

  test("an overlapping run is skipped and recorded as such", async () => {
    w = cronWorld();
    const job = w.add("alpha", { schedule: { kind: "every", everyMs: MIN }, payload: { kind: "exec", command: "sleep", args: ["2"] } });
    w.clock.set(START + MIN);
    w.timers.fireDue();
    await Bun.sleep(300); // the first run is going (real sleep 2 in the sandbox)
    w.clock.set(START + 2 * MIN);
    w.timers.fireDue();
    await w.settle();
    const runs = w.runs("alpha", job.id);
    expect(runs.map((r) => [r.scheduledAtMs - START, r.status, r.error])).toEqual([
      [MIN, "ok", null],
      [2 * MIN, "skipped", "overlap: the previous run was still going"],
    ]);
  });

  test("caps: jobs per tenant, concurrent runs per tenant", async () => {
    w = cronWorld({ config: { gateway: { cron: { maxJobsPerTenant: 3, maxConcurrentRunsPerTenant: 1 } } } });
    const a = w.add("alpha", { schedule: { kind: "every", everyMs: MIN }, payload: { kind: "exec", command: "sleep", args: ["1"] } });
    w.add("alpha", { schedule: { kind: "every", everyMs: MIN } });
    w.add("alpha", { schedule: { kind: "every", everyMs: MIN } });
    let err: any;
    try {
      w.add("alpha", { schedule: { kind: "every", everyMs: MIN } });
    } catch (e) {
      err = e;
    }
    expect(err.code).toBe("QUOTA_EXCEEDED");
    expect(err.message).toBe("the tenant has 3 cron jobs, the most it may have (gateway.cron.maxJobsPerTenant = 3); remove one first");
    // Another tenant's count is its own.
    expect(w.add("beta", { schedule: { kind: "every", everyMs: MIN } }).id).toMatch(/\S/);
    await w.runUntil(START + MIN);
    const all = w.core.cron.runs(scope("alpha"), { limit: 10 }).items;
    expect(all.filter((r) => r.status === "ok").length).toBe(1);
    expect(all.filter((r) => r.status === "skipped").map((r) => r.error)).toEqual([
      "concurrency limit: the tenant had 1 cron runs going (gateway.cron.maxConcurrentRunsPerTenant)",
      "concurrency limit: the tenant had 1 cron runs going (gateway.cron.maxConcurrentRunsPerTenant)",
    ]);
    expect(all.find((r) => r.status === "ok")!.jobId).toBe(a.id);
    expect(w.core.cron.runs(scope("beta"), { limit: 10 }).items.map((r) => r.status)).toEqual(["ok"]);
  });

  test("a job that fails N times in a row is disabled with a visible reason, audited as cron.disabled", async () => {
    w = cronWorld({ config: { gateway: { cron: { maxConsecutiveFailures: 3 } } } });
    const job = w.add("alpha", { schedule: { kind: "every", everyMs: MIN }, payload: { kind: "exec", command: "false" } });
    await w.runUntil(START + 5 * MIN);
    const runs = w.runs("alpha", job.id);
    expect(runs.map((r) => r.status)).toEqual(["error", "error", "error"]);
    expect(runs[0].error).toBe("exit code 1");
    const got = w.core.cron.get(scope("alpha"), job.id);
    expect(got.enabled).toBe(false);
    expect(got.state.consecutiveErrors).toBe(3);
    expect(got.state.disabledReason).toBe("disabled by the gateway after 3 failed runs in a row (gateway.cron.maxConsecutiveFailures); last error: exit code 1");
    expect(got.state.nextRunAtMs).toBeNull();
    const audit = w.core.handle.sqlite.query("SELECT line FROM audit_events WHERE action = 'cron.disabled'").all() as { line: string }[];
    expect(audit.length).toBe(1);
    expect(JSON.parse(audit[0]!.line)).toMatchObject({ tenant: "alpha", target: { type: "cron_job", id: job.id }, actor: { kind: "system" } });
    // Enabling it again clears the streak and the reason.
    const again = w.core.cron.update(scope("alpha"), job.id, { enabled: true }, { actor: { kind: "tenant", id: "tok:x" }, requestId: "r" });
    expect(again.state).toMatchObject({ consecutiveErrors: 0, disabledReason: null, nextRunAtMs: START + 6 * MIN });
  });
});
