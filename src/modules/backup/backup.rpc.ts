// Tenant backup methods: a tenant may back itself up (always to the admin's bucket, under its own
// prefix) and list its own backups. Restore and delete are the operator's. Tenants see their backups
// through tenantBackupView: nothing of where the operator keeps its own.
import { Type as T } from "@sinclair/typebox";
import { defineMethod } from "../rpc/registry.ts";
import { opContext, selfOnly } from "../rpc/tenant-scope.ts";
import { SelfTenantId } from "../tenants/tenants.rpc.ts";
import { TenantBackupSchema, tenantBackupView } from "./backup.tenant-view.ts";

const strict = { additionalProperties: false } as const;

export const backupRpc = [
  defineMethod({
    name: "tenants.backup",
    summary:
      "Backs the calling tenant up to the gateway's backup bucket, under the tenant's own prefix (tenants/<id>/); at most once per backup.tenantMinIntervalMinutes (RATE_LIMITED with retryAfterSeconds otherwise).",
    params: T.Object({ tenantId: SelfTenantId }, strict),
    result: TenantBackupSchema,
    tenantScoped: true,
    mutates: true,
    audited: true,
    example: {},
    handler: async (ctx, p) => {
      const id = selfOnly(ctx, p.tenantId, "tenants.backup");
      const b = await ctx.core.backups.backup(id, null, opContext(ctx), { origin: "tenant" });
      return tenantBackupView(b, ctx.core.config);
    },
  }),
  defineMethod({
    name: "tenants.backups.list",
    summary: "The calling tenant's backups, newest first: id, time, size, hash and who made it (and the key of its own ones).",
    params: T.Object({ tenantId: SelfTenantId }, strict),
    result: T.Object({ backups: T.Array(TenantBackupSchema) }),
    tenantScoped: true,
    mutates: false,
    example: {},
    handler: (ctx, p) => ({ backups: ctx.core.backups.list(selfOnly(ctx, p.tenantId, "tenants.backups.list")).map((b) => tenantBackupView(b, ctx.core.config)) }),
  }),
];
