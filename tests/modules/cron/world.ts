// A cron world: a core on a ManualClock with ManualTimers (the scheduler's one timer fires when the
// test says), two tenants, the cron module started as the gateway starts it, and the real payloads
// (the tenant's bwrap sandbox). `home` reopens a world on the same state (a restart).
import type { Core } from "../../../src/app/core.ts";
import { ManualClock } from "../../../src/core/clock.ts";
import { ManualTimers } from "../../../src/core/timers.ts";
import type { Running } from "../../../src/modules/module.ts";
import { cronModule } from "../../../src/modules/cron/cron.module.ts";
import type { CronJobInput } from "../../../src/modules/cron/cron.types.ts";
import { createTenant, operatorCtx, scope, testCore } from "../../helpers/core.ts";

export const START = Date.parse("2026-06-01T00:00:00Z");
export const MIN = 60_000;

export interface CronWorld {
  core: Core;
  clock: ManualClock;
  timers: ManualTimers;
  home: string;
  running: Running | null;
  start(): void;
  /** Moves the clock to `t`, firing every timer due on the way (each at its time), and waits for the runs it started. */
  runUntil(t: number): Promise<void>;
  /** Waits until no cron run is recorded as running (the payloads started by the last wake ended). */
  settle(): Promise<void>;
  add(tenant: string, input: Partial<CronJobInput> & Record<string, unknown>): any;
  runs(tenant: string, id?: string): any[];
  stop(): Promise<void>;
}

export function cronWorld(opts: { home?: string; now?: number; config?: Record<string, any>; tenants?: boolean; start?: boolean } = {}): CronWorld {
  const clock = new ManualClock(opts.now ?? START);
  const timers = new ManualTimers(clock);
  const config = { ...opts.config, gateway: { ...opts.config?.gateway, cron: { minIntervalSeconds: 60, ...opts.config?.gateway?.cron } } };
  const core = testCore({ home: opts.home, clock, timers, config });
  if (opts.tenants !== false) {
    createTenant(core, "alpha");
    createTenant(core, "beta");
  }
  const w: CronWorld = {
    core,
    clock,
    timers,
    home: core.home,
    running: null,
    start() {
      w.running = cronModule.start!(core.servicesOf(cronModule) as never) as Running;
    },
    async runUntil(t) {
      for (;;) {
        const next = timers.nextAt();
        if (next === null || next > t) break;
        clock.set(Math.max(clock.now(), next));
        timers.fireDue();
        await w.settle();
      }
      clock.set(t);
    },
    async settle() {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const { n } = core.handle.sqlite.query("SELECT count(*) AS n FROM cron_runs WHERE status = 'running'").get() as { n: number };
        if (n === 0 && core.cronEngine.executions.runningCount() === 0) return;
        if (Date.now() > deadline) throw new Error("cron runs did not settle within 60 s");
        await Bun.sleep(10);
      }
      // (A run counts as going until its delivery is done too.)
    },
    add(tenant, input) {
      return core.cron.add(scope(tenant), { name: "job", payload: { kind: "exec", command: "echo", args: ["hi"] }, ...input } as CronJobInput, operatorCtx);
    },
    runs(tenant, id) {
      return core.cron.runs(scope(tenant), { id, limit: 500 }).items.slice().reverse();
    },
    async stop() {
      await w.running?.stop();
      w.running = null;
      core.close();
    },
  };
  if (opts.start !== false) w.start();
  return w;
}
