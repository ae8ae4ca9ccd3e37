// Tenant backup methods: a tenant may back itself up (always to the admin's bucket, under its own
// prefix) and list its own backups. Restore and delete are the operator's.
import { Type as T } from "@sinclair/typebox";
import { defineMethod } from "../rpc/registry.ts";
import { opContext, selfOnly } from "../rpc/tenant-scope.ts";
import { SelfTenantId } from "../tenants/tenants.rpc.ts";

const strict = { additionalProperties: false } as const;
const Backup = T.Object({
  backupId: T.String(),
  tenantId: T.String(),
  location: T.String(),
  sizeBytes: T.Integer(),
  sha256: T.String(),
  encrypted: T.Boolean(),
  files: T.Integer(),
  contentBytes: T.Integer(),
  formatVersion: T.Integer(),
  gatewayVersion: T.String(),
  origin: T.String(),
  createdAt: T.String(),
});

export const backupRpc = [
  defineMethod({
    name: "tenants.backup",
    summary: "Backs the calling tenant up to the gateway's backup bucket, under the tenant's own prefix (tenants/<id>/).",
    params: T.Object({ tenantId: SelfTenantId }, strict),
    result: Backup,
    tenantScoped: true,
    mutates: true,
    audited: true,
    example: {},
    handler: async (ctx, p) => {
      const id = selfOnly(ctx, p.tenantId, "tenants.backup");
      const { skipped: _skipped, pruned: _pruned, ...b } = await ctx.core.backups.backup(id, null, opContext(ctx), { origin: "tenant" });
      return b;
    },
  }),
  defineMethod({
    name: "tenants.backups.list",
    summary: "The calling tenant's backups, newest first.",
    params: T.Object({ tenantId: SelfTenantId }, strict),
    result: T.Object({ backups: T.Array(Backup) }),
    tenantScoped: true,
    mutates: false,
    example: {},
    handler: (ctx, p) => ({ backups: ctx.core.backups.list(selfOnly(ctx, p.tenantId, "tenants.backups.list")) }),
  }),
];
