// Usage: the ledger of routed requests (one row each, written off the main thread) and its daily
// totals, and the reports read from them.
import { freshIdOnCopy } from "../../db/tenant-rows.ts";
import { defineModule } from "../module.ts";
import { sandboxModule } from "../sandbox/sandbox.module.ts";
import { tenantsModule } from "../tenants/tenants.module.ts";
import { createLedger } from "./ledger.ts";
import { rebuildDaily } from "./usage-daily.ts";
import { usageCli } from "./usage.cli.ts";
import { usageRoutes } from "./usage.routes.ts";
import { usageRpc } from "./usage.rpc.ts";
import { createUsageService } from "./usage.service.ts";

export const usageModule = defineModule({
  name: "usage",
  // The sandbox: a tenant's usage report includes its sandbox seconds.
  needs: [tenantsModule, sandboxModule],
  create(platform, { tenants }) {
    const ledger = createLedger({ handle: platform.handle, clock: platform.clock, log: platform.log, incarnationOf: tenants.incarnation });
    const usage = createUsageService({ handle: platform.handle, ledger, clock: platform.clock, incarnationOf: tenants.incarnation });
    return { ledger, usage };
  },
}).with({
  admin: usageRoutes,
  rpc: usageRpc,
  cli: usageCli,
  tenantData: {
    // What the operator bills from: it stays after a delete, keyed to the tenant's incarnation.
    tables: [
      { table: "usage_ledger", tenantColumn: "tenant_id", keep: "incarnation", restoreRow: freshIdOnCopy, restored: rebuildDaily },
      { table: "usage_daily", tenantColumn: "tenant_id", keep: "incarnation", backup: false },
    ],
    // The rows a backup reads include every request that has ended.
    beforeBackup: ({ ledger }) => ledger.flush(),
  },
  // A request left in flight by a crash is settled at its reserved input before anything is routed.
  start: ({ ledger }) => void ledger.recoverInFlight(),
  close: ({ ledger }) => ledger.close(),
});
