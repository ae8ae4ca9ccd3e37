// Tenant backup and restore: one tenant's directory and rows as a streamed, optionally encrypted
// tar + zstd archive in S3 or a file, and the records of the backups made.
import { auditModule } from "../audit/audit.module.ts";
import { diskModule } from "../disk/disk.module.ts";
import { metricsModule } from "../metrics/metrics.module.ts";
import { defineModule } from "../module.ts";
import { tenantsModule } from "../tenants/tenants.module.ts";
import { backupCli } from "./backup.cli.ts";
import { backupRoutes } from "./backup.routes.ts";
import { backupRpc } from "./backup.rpc.ts";
import { createBackupService } from "./backup.service.ts";

export const backupModule = defineModule({
  name: "backup",
  needs: [metricsModule, auditModule, tenantsModule, diskModule],
  create: (platform, { metrics, audit, tenants, disk }) => ({
    backups: createBackupService({
      home: platform.home,
      version: platform.version,
      schemaVersion: platform.handle.schemaVersion,
      config: platform.config,
      handle: platform.handle,
      audit,
      tenants,
      tenantData: platform.tenantData,
      clock: platform.clock,
      log: platform.log,
      metrics,
      disk,
    }),
  }),
}).with({
  admin: backupRoutes,
  rpc: backupRpc,
  cli: backupCli,
  tenantData: {
    // Records of a tenant's backups stay after it is deleted (its archives may still be restored),
    // keyed to its incarnation; they are not themselves backed up.
    tables: [{ table: "backups", tenantColumn: "tenant_id", keep: "incarnation", backup: false }],
  },
});
