// A backup record as callers see it: the admin API, the tenant's RPC methods and the CLI.
import { Type as T, type Static } from "@sinclair/typebox";
import type { BackupRow } from "./backup.sql.ts";

export const BackupViewSchema = T.Object({
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

export type BackupView = Static<typeof BackupViewSchema>;

export function backupView(r: BackupRow): BackupView {
  return {
    backupId: r.id,
    tenantId: r.tenantId,
    location: r.location,
    sizeBytes: r.sizeBytes,
    sha256: r.sha256,
    encrypted: r.encrypted,
    files: r.files,
    contentBytes: r.contentBytes,
    formatVersion: r.formatVersion,
    gatewayVersion: r.gatewayVersion,
    origin: r.origin,
    createdAt: new Date(r.createdAt).toISOString(),
  };
}
