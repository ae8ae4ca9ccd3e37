// Sandbox run records (sandbox_runs): one row per run, what a tenant's sandbox seconds are counted
// from. Rows carry the tenant's incarnation and outlive it (the operator's billing history); a tenant
// sees its current incarnation's only.
import { sql } from "drizzle-orm";
import type { Clock } from "../../core/clock.ts";
import type { Db } from "../../db/client.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import { SandboxRunTable } from "./sandbox.sql.ts";

type RunRow = typeof SandboxRunTable.$inferInsert;

export function createRunRecords(deps: { db: Db; clock: Clock; incarnation: (tenantId: string) => string | null }) {
  function seconds(tenant: TenantScope, from = 0, to = Number.MAX_SAFE_INTEGER): { runs: number; seconds: number } {
    const incarnation = deps.incarnation(tenant.tenantId);
    if (incarnation === null) return { runs: 0, seconds: 0 };
    const row = deps.db
      .select({ runs: sql<number>`count(*)`, ms: sql<number>`coalesce(sum(${SandboxRunTable.durationMs}), 0)` })
      .from(SandboxRunTable)
      .where(sql`${SandboxRunTable.tenantId} = ${tenant.tenantId} and ${SandboxRunTable.incarnation} = ${incarnation} and ${SandboxRunTable.startedAt} >= ${from} and ${SandboxRunTable.startedAt} < ${to}`)
      .get();
    return { runs: row?.runs ?? 0, seconds: Math.round((row?.ms ?? 0) / 10) / 100 };
  }

  return {
    record(row: RunRow): void {
      deps.db.insert(SandboxRunTable).values(row).run();
    },

    /** Sandbox seconds and runs of a tenant (its current incarnation: never a previous owner's of the id) in [from, to) (epoch ms). */
    seconds,

    /** Sandbox runs and seconds today and this month (UTC), for usage reports. */
    usage(tenant: TenantScope) {
      const now = deps.clock.now();
      const dayStart = Math.floor(now / 86_400_000) * 86_400_000;
      const d = new Date(now);
      const month = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
      const nextMonth = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      return { today: seconds(tenant, dayStart, dayStart + 86_400_000), month: seconds(tenant, month, nextMonth) };
    },
  };
}
