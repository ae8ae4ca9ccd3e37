// Cron: a tenant's scheduled jobs — agent turns and sandbox commands on a cron expression (croner,
// IANA time zone), an interval or a time — fired by one gateway-wide timer, each scheduled time at
// most once (recorded before it starts), runs recorded with their outcome, usage and cost. Jobs and
// runs are tenant rows (cron_jobs, cron_runs): backed up, restored and deleted with the tenant.
import { auditModule } from "../audit/audit.module.ts";
import { agentsModule } from "../agents/agents.module.ts";
import { channelsModule } from "../channels/channels.module.ts";
import { eventsModule } from "../events/events.module.ts";
import { defineModule } from "../module.ts";
import { sandboxModule } from "../sandbox/sandbox.module.ts";
import { tenantsModule } from "../tenants/tenants.module.ts";
import { jobOf, type JobRow } from "./cron.store.ts";
import { createCronStore } from "./cron.store.ts";
import { cronAdminRoutes } from "./cron.admin.ts";
import { cronCli } from "./cron.cli.ts";
import { jobOwnerScope } from "./cron.identity.ts";
import { cronRpc } from "./cron.rpc.ts";
import { createCronService } from "./cron.service.ts";
import { deliver, type DeliveryDeps } from "./delivery.ts";
import { createExecutions } from "./executions.ts";
import { createPayloadRunner, type PayloadRunner } from "./runner.ts";
import { createScheduler } from "./scheduler.ts";

const newRunId = () => `crun_${Bun.randomUUIDv7().replaceAll("-", "")}`;

export const cronModule = defineModule({
  name: "cron",
  needs: [auditModule, tenantsModule, eventsModule, sandboxModule, agentsModule, channelsModule],
  create(platform, { audit, tenants, events, sandbox, runs, sessions, channels }) {
    const sqlite = platform.handle.sqlite;
    const store = createCronStore(sqlite);
    const tenantState = { incarnation: (id: string) => tenants.incarnation(id), isActive: (id: string) => tenants.isActive(id) };
    // The payload runner is a seam: tests and the benchmark swap it (cronTest.useRunner) to time the scheduler alone.
    let runner: PayloadRunner = createPayloadRunner({ runs, sandbox });
    const delivery: DeliveryDeps = { config: platform.config, sessions, runs, channels, now: () => platform.clock.now() };
    const executions = createExecutions({
      sqlite,
      dbFile: platform.handle.file,
      store,
      clock: platform.clock,
      log: platform.log,
      config: platform.config,
      tenants: tenantState,
      audit,
      events,
      runner: (...a) => runner(...a),
      deliver: (row: JobRow, run) => {
        const job = jobOf(row);
        return deliver(delivery, jobOwnerScope(row), job, run, row.webhookSecret, { actor: { kind: "system", id: `cron:${row.id}` }, requestId: `cron_${run.id}` });
      },
    });
    const scheduler = createScheduler({
      sqlite,
      dbFile: platform.handle.file,
      store,
      clock: platform.clock,
      timers: platform.timers,
      config: platform.config,
      log: platform.log,
      tenants: tenantState,
      busy: executions.busy,
      counts: executions.counts,
      claim: executions.claim,
      start: executions.start,
      release: executions.release,
      newRunId,
    });
    const cron = createCronService({ sqlite, store, clock: platform.clock, config: platform.config, audit, scheduler, executions, tenants: tenantState, newRunId });
    return {
      cron,
      /** The scheduler and the running work, for the module's hooks, tests and the benchmark. */
      cronEngine: {
        scheduler,
        executions,
        delivery,
        useRunner(r: PayloadRunner) {
          runner = r;
        },
        runnerOf: (): PayloadRunner => runner,
      },
    };
  },
}).with({
  console: { pages: [{ id: "cron", title: "Cron jobs", face: "tenant", order: 60 }] },
  admin: cronAdminRoutes,
  rpc: cronRpc,
  cli: cronCli,
  tenantData: {
    tables: [
      { table: "cron_jobs", tenantColumn: "tenant_id" },
      { table: "cron_runs", tenantColumn: "tenant_id" },
    ],
    onDelete: ({ cronEngine }) => cronEngine.scheduler.changed(),
    // Restored rows: runs that were going when the backup was taken did not survive it.
    onRestore: ({ cronEngine }, tenant) => {
      cronEngine.executions.recover(tenant.tenantId);
      cronEngine.scheduler.changed();
    },
    onStop: ({ cronEngine }, stop) => cronEngine.executions.stopTenant(stop),
  },
  start({ cronEngine }) {
    // Rows still `running` were interrupted by a crash or a stop: never run again, marked failed.
    cronEngine.executions.recover();
    cronEngine.scheduler.start();
    return {
      async stop() {
        cronEngine.scheduler.stop();
        await cronEngine.executions.stopAll();
      },
    };
  },
  close: ({ cronEngine }) => cronEngine.scheduler.stop(),
});
