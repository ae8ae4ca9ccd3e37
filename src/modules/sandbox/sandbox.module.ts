// Sandboxes: tenants' commands in bubblewrap or Docker (runc, gVisor), with egress allow-lists, the
// tenant's workspace at /work, and a record of every run.
import { freshIdOnCopy } from "../../db/tenant-rows.ts";
import { diskModule } from "../disk/disk.module.ts";
import { metricsModule } from "../metrics/metrics.module.ts";
import { defineModule } from "../module.ts";
import { overlaysModule } from "../overlays/overlays.module.ts";
import { tenantsModule } from "../tenants/tenants.module.ts";
import { sandboxCli } from "./sandbox.cli.ts";
import { sandboxRpc } from "./sandbox.rpc.ts";
import { createSandboxService } from "./sandbox.service.ts";

export const sandboxModule = defineModule({
  name: "sandbox",
  needs: [metricsModule, overlaysModule, tenantsModule, diskModule],
  create: (platform, { metrics, overlays, tenants, disk }) => ({
    sandbox: createSandboxService({ home: platform.home, env: platform.env, config: platform.config, overlays, tenants, db: platform.handle.db, clock: platform.clock, log: platform.log, metrics, disk }),
  }),
}).with({
  rpc: sandboxRpc,
  cli: sandboxCli,
  tenantData: {
    // Runs are what sandbox seconds are counted from: they stay for the operator after a delete.
    tables: [{ table: "sandbox_runs", tenantColumn: "tenant_id", keep: "incarnation", restoreRow: freshIdOnCopy }],
    dirs: ["workspace"],
    onRestore: ({ sandbox }, tenant) => sandbox.adoptWorkspace(tenant),
    // Suspend, delete, a restore over the tenant or a token's end kills its runs and closes their egress.
    onStop: ({ sandbox }, stop) => sandbox.endTenantWork(stop),
  },
  start: ({ sandbox }) => sandbox.startupCheck(),
});
