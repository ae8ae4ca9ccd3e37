// Cron scheduler at scale (issue 16 §6): 100,000 jobs over 1,000 tenants in state.db.
//   startup: a fresh process opens the core and starts the cron module (recovery + arming the one
//            timer), beside the same on a home with no jobs (the baseline), alternating;
//   idle:    the process's CPU time (/proc/self/stat utime+stime) over --idle-seconds while nothing is
//            due for an hour, beside the no-jobs home;
//   firing:  2,000 of the jobs due every minute — "spread" (every 60 s, anchors 30 ms apart) and
//            "burst" (all on `* * * * *`) — lateness of each run's record (started_at − scheduled
//            time) and of its payload's start (after the record is on disk), p50/p99.
// The payload is a no-op (this measures the scheduler; a payload's own cost is the sandbox's or the
// agent's benchmark). Every measurement is a fresh child process; medians over --runs.
// Usage: bun bench/cron.ts [--runs 3] [--idle-seconds 10] [--fire-seconds 60] [--only startup,idle,firing]
import fs from "node:fs";
import path from "node:path";
import { readEnvironment } from "../src/config/env.ts";
import { createCore } from "../src/app/core.ts";
import { silentLogger } from "../src/core/logger.ts";
import { cronModule } from "../src/modules/cron/cron.module.ts";
import type { Running } from "../src/modules/module.ts";
import { arg, median, saveResult, tmpdir } from "./lib.ts";

const TENANTS = 1000;
const JOBS_PER_TENANT = 100;
const DUE_PER_MINUTE = 2000;
const CONFIG = { gateway: { cron: { maxConcurrentRuns: 10_000, maxConcurrentRunsPerTenant: 100 } } };

function open(home: string) {
  return createCore({ home, env: readEnvironment({ PATH: process.env.PATH }), log: silentLogger() });
}

function cpuMs(): number {
  const f = fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  const ticks = Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
  return (ticks * 1000) / 100; // USER_HZ = 100
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : Number.NaN;
}

/** The homes: one with 1,000 tenants and 100,000 jobs (none due within the hour), one with the tenants and no jobs. */
function makeHomes(): { full: string; empty: string } {
  const full = tmpdir("bench-cron-full-");
  const empty = tmpdir("bench-cron-empty-");
  for (const home of [full, empty]) {
    fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify(CONFIG));
    const core = open(home);
    const op = { actor: { kind: "operator" as const, id: "bench" }, requestId: "bench" };
    for (let t = 0; t < TENANTS; t++) core.tenants.create({ id: `t${String(t).padStart(4, "0")}` }, op);
    if (home === full) {
      // Rows as cron.add writes them (one transaction here: the setup is not what is measured).
      const now = Date.now();
      const ins = core.handle.sqlite.prepare(
        "INSERT INTO cron_jobs (tenant_id, id, name, description, enabled, schedule, payload, delivery, webhook_secret, delete_after_run, catch_up, created_at, updated_at, next_run_at, wake_at) VALUES (?1, ?2, ?3, NULL, 1, ?4, ?5, ?6, NULL, 0, 'once', ?7, ?7, ?8, ?8)",
      );
      const exprs = ["0 * * * *", "30 2 * * *", "*/15 * * * *", "0 9 * * 1-5", "5 4 * * 0"];
      core.handle.sqlite.transaction(() => {
        for (let t = 0; t < TENANTS; t++) {
          for (let j = 0; j < JOBS_PER_TENANT; j++) {
            const schedule = j % 2 ? { kind: "every", everyMs: 3_600_000 * (1 + (j % 24)) } : { kind: "cron", expr: exprs[j % exprs.length], tz: j % 4 ? "UTC" : "Europe/Berlin" };
            // Nothing due within the hour (the idle measurement): the first times are 1-25 h ahead.
            const next = now + 3_600_000 + ((t * JOBS_PER_TENANT + j) % 86_400) * 1000;
            ins.run(`t${String(t).padStart(4, "0")}`, `job-${t}-${j}`, `job ${j}`, JSON.stringify(schedule), JSON.stringify({ kind: "exec", command: "true" }), JSON.stringify({ mode: "none" }), now, next);
          }
        }
      })();
    }
    core.handle.sqlite.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    core.close();
  }
  return { full, empty };
}

async function child(mode: string, home: string): Promise<void> {
  if (mode === "startup") {
    const t0 = performance.now();
    const core = open(home);
    const t1 = performance.now();
    const running = cronModule.start!(core.servicesOf(cronModule) as never) as Running;
    const t2 = performance.now();
    console.log(JSON.stringify({ openMs: t1 - t0, cronStartMs: t2 - t1, totalMs: t2 - t0, armedFor: core.cronEngine.scheduler.nextWakeAt() }));
    await running.stop();
    core.close();
    return;
  }
  if (mode === "idle") {
    const core = open(home);
    const running = cronModule.start!(core.servicesOf(cronModule) as never) as Running;
    await Bun.sleep(1000);
    const c0 = cpuMs();
    const t0 = performance.now();
    await Bun.sleep(arg("--idle-seconds", 10) * 1000);
    console.log(JSON.stringify({ cpuMs: cpuMs() - c0, wallMs: performance.now() - t0 }));
    await running.stop();
    core.close();
    return;
  }
  // fire-spread | fire-burst: the first two jobs of each tenant become due every minute.
  const core = open(home);
  const db = core.handle.sqlite;
  db.exec("DELETE FROM cron_runs");
  const now = Date.now();
  const first = Math.ceil((now + 3000) / 60_000) * 60_000; // the next whole minute at least 3 s away
  const setJob = db.prepare("UPDATE cron_jobs SET schedule = ?3, next_run_at = ?4, wake_at = ?4 WHERE tenant_id = ?1 AND id = ?2");
  db.transaction(() => {
    let i = 0;
    for (let t = 0; t < TENANTS; t++) {
      for (const j of [0, 1]) {
        const tenant = `t${String(t).padStart(4, "0")}`;
        if (mode === "fire-burst") setJob.run(tenant, `job-${t}-${j}`, JSON.stringify({ kind: "cron", expr: "* * * * *", tz: "UTC" }), first);
        else {
          const anchor = first + i * 30; // 2,000 × 30 ms = one minute
          setJob.run(tenant, `job-${t}-${j}`, JSON.stringify({ kind: "every", everyMs: 60_000, anchorMs: anchor }), anchor);
        }
        i++;
      }
    }
  })();
  const startedAt = new Map<string, number>();
  core.cronEngine.useRunner(async (_identity, _job, runId) => {
    startedAt.set(runId, Date.now());
    return { status: "ok", error: null, output: null, usage: { inputTokens: 0, outputTokens: 0, costMicroUsd: 0 } };
  });
  const running = cronModule.start!(core.servicesOf(cronModule) as never) as Running;
  const until = first + arg("--fire-seconds", 60) * 1000;
  await Bun.sleep(until - Date.now() + 500);
  await running.stop();
  const rows = db.query("SELECT id, scheduled_at AS s, started_at AS r, status FROM cron_runs WHERE scheduled_at < ?1").all(until) as { id: string; s: number; r: number; status: string }[];
  const recorded = rows.map((x) => x.r - x.s);
  const started = rows.filter((x) => startedAt.has(x.id)).map((x) => startedAt.get(x.id)! - x.s);
  console.log(JSON.stringify({ runs: rows.length, skipped: rows.filter((x) => x.status === "skipped").length, recordP50: pct(recorded, 50), recordP99: pct(recorded, 99), recordMax: pct(recorded, 100), startP50: pct(started, 50), startP99: pct(started, 99), startMax: pct(started, 100) }));
  core.close();
}

async function measure(mode: string, home: string): Promise<any> {
  const p = Bun.spawn([process.execPath, import.meta.path, "--child", mode, "--home", home, ...process.argv.slice(2)], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`${mode} child failed`);
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

const ci = process.argv.indexOf("--child");
if (ci >= 0) {
  await child(process.argv[ci + 1]!, process.argv[process.argv.indexOf("--home") + 1]!);
  process.exit(0);
}

const runs = arg("--runs", 3);
const oi = process.argv.indexOf("--only");
const only = oi >= 0 ? process.argv[oi + 1]!.split(",") : ["startup", "idle", "firing"];
console.log(`setting up ${TENANTS} tenants, ${TENANTS * JOBS_PER_TENANT} jobs …`);
const t0 = performance.now();
const homes = makeHomes();
console.log(`  set up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const r: Record<string, any[]> = { startupFull: [], startupEmpty: [], idleFull: [], idleEmpty: [], spread: [], burst: [] };
for (let i = 0; i < (only.includes("startup") ? runs : 0); i++) {
  r.startupFull!.push(await measure("startup", homes.full));
  r.startupEmpty!.push(await measure("startup", homes.empty));
}
for (let i = 0; i < (only.includes("idle") ? runs : 0); i++) {
  r.idleFull!.push(await measure("idle", homes.full));
  r.idleEmpty!.push(await measure("idle", homes.empty));
}
for (let i = 0; i < (only.includes("firing") ? runs : 0); i++) {
  r.spread!.push(await measure("fire-spread", homes.full));
  r.burst!.push(await measure("fire-burst", homes.full));
}
const med = (xs: any[], k: string) => Math.round(median(xs.map((x) => x[k])) * 100) / 100;
const summary = {
  jobs: TENANTS * JOBS_PER_TENANT,
  tenants: TENANTS,
  runs,
  startup: { fullTotalMs: med(r.startupFull!, "totalMs"), fullCronStartMs: med(r.startupFull!, "cronStartMs"), emptyTotalMs: med(r.startupEmpty!, "totalMs"), emptyCronStartMs: med(r.startupEmpty!, "cronStartMs") },
  idle: { seconds: arg("--idle-seconds", 10), fullCpuMs: med(r.idleFull!, "cpuMs"), emptyCpuMs: med(r.idleEmpty!, "cpuMs") },
  spread: { runsPerRound: med(r.spread!, "runs"), recordP50: med(r.spread!, "recordP50"), recordP99: med(r.spread!, "recordP99"), startP50: med(r.spread!, "startP50"), startP99: med(r.spread!, "startP99"), skipped: med(r.spread!, "skipped") },
  burst: { runsPerRound: med(r.burst!, "runs"), recordP50: med(r.burst!, "recordP50"), recordP99: med(r.burst!, "recordP99"), startP50: med(r.burst!, "startP50"), startP99: med(r.burst!, "startP99"), skipped: med(r.burst!, "skipped") },
  loadavg: fs.readFileSync("/proc/loadavg", "utf8").trim(),
};
console.log(JSON.stringify(summary, null, 2));
if (only.length === 3) saveResult("cron", { summary, raw: r, command: `bun bench/cron.ts ${process.argv.slice(2).join(" ")}`.trim() });
for (const h of [homes.full, homes.empty]) fs.rmSync(h, { recursive: true, force: true });
