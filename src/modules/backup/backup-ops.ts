// What backup and restore share: their dependencies, their audit records (a refused or failed
// operation is audited too), the encryption key and restore limits from the config, the slots, and
// scratch space.
import fs from "node:fs";
import path from "node:path";
import { requireResolved } from "../../config/env-refs.ts";
import type { GatewayConfig } from "../../config/schema.ts";
import type { Clock } from "../../core/clock.ts";
import { AppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { DbHandle } from "../../db/client.ts";
import type { OpContext } from "../../edge/actor.ts";
import type { AuditLog } from "../audit/audit.service.ts";
import type { DiskGuard } from "../disk/disk.service.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { TenantDataRegistry } from "../module.ts";
import type { TenantsService } from "../tenants/tenants.service.ts";
import { createBackupSlots } from "./backup-slots.ts";
import { checkEncryptionKey } from "./encryption.ts";

export interface BackupDeps {
  home: string;
  version: string;
  schemaVersion: number;
  config: () => GatewayConfig;
  handle: DbHandle;
  audit: AuditLog;
  tenants: TenantsService;
  /** The tables and directories every module keeps per tenant, and their hooks. */
  tenantData: TenantDataRegistry;
  clock: Clock;
  log: Logger;
  metrics?: Metrics;
  /** The tenant disk limits and the gateway's reserve, which a restore must fit (and a tenant's own backup). */
  disk: Pick<DiskGuard, "restoreGuard" | "assertUnderLimits">;
}

export interface Progress {
  (done: number, total: number | null): void;
}

export function backupOps(deps: BackupDeps) {
  const entry = (ctx: OpContext, action: string, tenant: string, details: Record<string, unknown>, outcome?: "ok" | "denied" | "error") => ({
    actor: ctx.actor,
    action,
    target: { type: "tenant", id: tenant },
    tenant,
    requestId: ctx.requestId,
    clientRequestId: ctx.clientRequestId,
    src: { ip: ctx.ip },
    details,
    outcome,
  });

  return {
    entry,
    slots: createBackupSlots(undefined, undefined, () => deps.clock.now()),

    recordFailure(ctx: OpContext, action: string, tenant: string, details: Record<string, unknown>, err: unknown) {
      const refused = err instanceof AppError && (err.code === "INVALID_PARAMS" || err.code === "CONFLICT" || err.code === "PAYLOAD_TOO_LARGE");
      deps.metrics?.backup(action === "tenant.backup" ? "backup" : action === "tenant.restore" ? "restore" : "delete", refused ? "refused" : "error");
      try {
        deps.audit.record(entry(ctx, action, tenant, { ...details, reason: err instanceof Error ? err.message.slice(0, 500) : String(err) }, err instanceof AppError && err.code === "INVALID_PARAMS" ? "denied" : "error"));
      } catch (auditErr) {
        deps.log.error("could not audit a failed backup operation", { error: String(auditErr) });
      }
    },

    encryptionKey(): string | undefined {
      requireResolved(deps.config(), ["backup", "encryptionKey"]);
      const k = deps.config().backup.encryptionKey;
      if (k) checkEncryptionKey(k);
      return k || undefined;
    },

    restoreLimits() {
      const b = deps.config().backup;
      return { maxBytes: b.maxRestoreBytes, maxEntries: b.maxRestoreEntries, tenant: deps.disk.restoreGuard() };
    },

    /** A scratch directory inside the home (0700), removed by the caller. */
    scratch(kind: string): string {
      const base = path.join(deps.home, "run");
      fs.mkdirSync(base, { recursive: true, mode: 0o700 });
      return fs.mkdtempSync(path.join(base, `${kind}-`));
    },
  };
}

export type BackupOps = ReturnType<typeof backupOps>;
