// The ext_packages rows (./skills.sql.ts): enabled state and install metadata of a tenant's skills
// and plugins, always looked up under the caller's tenant.
import type { Database } from "bun:sqlite";
import type { PackageKind } from "./package.types.ts";

export interface PackageRow {
  name: string;
  enabled: number;
  installedAt: number | null;
  installedBy: string | null;
  sha256: string | null;
  bytes: number | null;
}

export function createPackageStore(sqlite: Database) {
  const all = sqlite.query<PackageRow, [string, string]>("SELECT name, enabled, installed_at AS installedAt, installed_by AS installedBy, sha256, bytes FROM ext_packages WHERE tenant_id = ? AND kind = ?");
  const upsertInstall = sqlite.query(
    "INSERT INTO ext_packages (tenant_id, kind, name, enabled, installed_at, installed_by, sha256, bytes, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, kind, name) DO UPDATE SET installed_at = excluded.installed_at, installed_by = excluded.installed_by, sha256 = excluded.sha256, bytes = excluded.bytes, updated_at = excluded.updated_at",
  );
  const upsertEnabled = sqlite.query("INSERT INTO ext_packages (tenant_id, kind, name, enabled, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, kind, name) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at");
  const del = sqlite.query("DELETE FROM ext_packages WHERE tenant_id = ? AND kind = ? AND name = ?");
  return {
    rows(tenantId: string, kind: PackageKind): Map<string, PackageRow> {
      return new Map(all.all(tenantId, kind).map((r) => [r.name, r]));
    },
    installed(tenantId: string, kind: PackageKind, name: string, at: number, by: string, sha256: string, bytes: number): void {
      upsertInstall.run(tenantId, kind, name, at, by, sha256, bytes, at);
    },
    setEnabled(tenantId: string, kind: PackageKind, name: string, enabled: boolean, at: number): void {
      upsertEnabled.run(tenantId, kind, name, enabled ? 1 : 0, at);
    },
    remove(tenantId: string, kind: PackageKind, name: string): void {
      del.run(tenantId, kind, name);
    },
  };
}
export type PackageStore = ReturnType<typeof createPackageStore>;
