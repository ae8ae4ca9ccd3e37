// Tenant backup methods: a tenant may back itself up (always to the admin's bucket, under its own
// prefix) and list its own backups. Restore and delete are the operator's. Tenants see their backups
// through tenantBackupView: nothing of where the operator keeps its own.
import { Type as T } from "@sinclair/typebox";
import { defineTenantMethod } from "../../edge/rpc.ts";
import type { BackupService } from "./backup.service.ts";
import { TenantBackupSchema } from "./backup.tenant-view.ts";

export function backupRpc({ backups }: { backups: BackupService }) {
  return [
    defineTenantMethod({
      name: "tenants.backup",
      summary:
        "Backs the calling tenant up to the gateway's backup bucket, under the tenant's own prefix (tenants/<id>/); at most once per backup.tenantMinIntervalMinutes (RATE_LIMITED with retryAfterSeconds otherwise).",
      params: {},
      result: TenantBackupSchema,
      mutates: true,
      audited: true,
      example: {},
      handler: async (tenant, _p, ctx) => {
        const b = await backups.backup(tenant, null, ctx.op, { origin: "tenant" });
        return backups.tenantView(b);
      },
    }),
    defineTenantMethod({
      name: "tenants.backups.list",
      summary: "The calling tenant's backups, newest first: id, time, size, hash and who made it (and the key of its own ones).",
      params: {},
      result: T.Object({ backups: T.Array(TenantBackupSchema) }),
      mutates: false,
      example: {},
      handler: (tenant) => ({ backups: backups.list(tenant).map(backups.tenantView) }),
    }),
  ];
}
