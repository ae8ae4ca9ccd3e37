// What a tenant sees of its backups (RPC tenants.backup and tenants.backups.list): the backup's id,
// time, size and hash, and whether it or the operator made it. Where the operator keeps backups —
// host paths, bucket names, other buckets — is the operator's business: a tenant sees a location only
// for its own self-backups in the gateway's bucket, as the key below its prefix (`<incarnation>/…`).
import { Type as T, type Static } from "@sinclair/typebox";
import type { GatewayConfig } from "../../config/schema.ts";
import type { BackupView } from "./backup.model.ts";
import { tenantPrefix } from "./targets.ts";

export const TenantBackupSchema = T.Object({
  backupId: T.String(),
  createdAt: T.String(),
  sizeBytes: T.Integer(),
  sha256: T.String({ description: "SHA-256 of the stored archive" }),
  origin: T.Union([T.Literal("tenant"), T.Literal("operator")], { description: "who made it: the tenant (tenants.backup) or the operator" }),
  location: T.Optional(T.String({ description: "own backups only: where it is stored, as the key below the tenant's prefix in the gateway's backup bucket" })),
});

export type TenantBackupView = Static<typeof TenantBackupSchema>;

export function tenantBackupView(b: BackupView, config: GatewayConfig): TenantBackupView {
  const out: TenantBackupView = { backupId: b.backupId, createdAt: b.createdAt, sizeBytes: b.sizeBytes, sha256: b.sha256, origin: b.origin === "tenant" ? "tenant" : "operator" };
  const bucket = config.backup.s3?.bucket;
  const under = `s3://${bucket}/${tenantPrefix(config, b.tenantId)}`;
  if (out.origin === "tenant" && bucket && b.location.startsWith(under)) out.location = b.location.slice(under.length);
  return out;
}
