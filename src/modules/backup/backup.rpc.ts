// Tenant backup methods: a tenant may back itself up (always to the admin's bucket, under its own
// prefix) and list its own backups. Restore and delete are the operator's.
import { Type as T } from "@sinclair/typebox";
import { defineTenantMethod } from "../../edge/rpc.ts";
import { BackupViewSchema } from "./backup.model.ts";
import type { BackupService } from "./backup.service.ts";

export function backupRpc({ backups }: { backups: BackupService }) {
  return [
    defineTenantMethod({
      name: "tenants.backup",
      summary: "Backs the calling tenant up to the gateway's backup bucket, under the tenant's own prefix (tenants/<id>/).",
      params: {},
      result: BackupViewSchema,
      mutates: true,
      example: {},
      handler: async (tenant, _p, ctx) => {
        const { skipped: _skipped, pruned: _pruned, ...b } = await backups.backup(tenant, null, ctx.op, { origin: "tenant" });
        return b;
      },
    }),
    defineTenantMethod({
      name: "tenants.backups.list",
      summary: "The calling tenant's backups, newest first.",
      params: {},
      result: T.Object({ backups: T.Array(BackupViewSchema) }),
      mutates: false,
      example: {},
      handler: (tenant) => ({ backups: backups.list(tenant) }),
    }),
  ];
}
