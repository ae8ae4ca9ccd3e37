// Per-tenant quota limits: overrides in state.db (never in the tenant directory), falling back to the
// gateway's quotas.defaults. They are part of the tenant's record (set when it is created, shown with
// it); enforcing them is the quotas module's (quotas/quota-engine.ts).
import { eq, sql } from "drizzle-orm";
import type { Db } from "../../db/client.ts";
import type { Clock } from "../../core/clock.ts";
import type { GatewayConfig } from "../../config/schema.ts";
import type { ChangeTracker } from "../../db/change-tracker.ts";
import { nextUtcMidnight } from "../../lib/time.ts";
import { TenantQuotaTable, type TenantQuotaRow } from "./quota-limits.sql.ts";
import { QUOTA_FIELDS, type QuotaField, type QuotaLimits, type QuotaPatch, type QuotaView } from "./quota.model.ts";

const UNLIMITED = -1;
const MICRO = 1_000_000;

const COLUMN: Record<QuotaField, "tokensPerDay" | "costPerDayMicroUsd" | "requestsPerMinute" | "maxConcurrent"> = {
  tokensPerDay: "tokensPerDay",
  costPerDayUsd: "costPerDayMicroUsd",
  requestsPerMinute: "requestsPerMinute",
  maxConcurrent: "maxConcurrent",
};

function toStored(field: QuotaField, v: number | null | "default"): number | null {
  if (v === "default") return null;
  if (v === null) return UNLIMITED;
  return field === "costPerDayUsd" ? Math.round(v * MICRO) : v;
}

function fromStored(field: QuotaField, v: number | null): number | null | undefined {
  if (v === null) return undefined; // inherit
  if (v === UNLIMITED) return null;
  return field === "costPerDayUsd" ? v / MICRO : v;
}

export function createQuotaLimits(deps: { db: Db; clock: Clock; config: () => GatewayConfig; changes: ChangeTracker }) {
  const { db } = deps;
  // Limits are read on every routed request: cached until state.db or the config changes.
  const cache = new Map<string, QuotaView>();
  let seen = "";
  let seenConfig: GatewayConfig | null = null;

  const byTenant = db.select().from(TenantQuotaTable).where(eq(TenantQuotaTable.tenantId, sql.placeholder("id"))).prepare();

  function row(tenantId: string): TenantQuotaRow | undefined {
    return byTenant.get({ id: tenantId });
  }

  function view(tenantId: string): QuotaView {
    const version = deps.changes.version();
    if (version !== seen || deps.config() !== seenConfig || cache.size > 50_000) {
      cache.clear();
      seen = version;
      seenConfig = deps.config();
    }
    let v = cache.get(tenantId);
    if (!v) {
      v = read(tenantId);
      cache.set(tenantId, v);
    }
    return v;
  }

  function read(tenantId: string): QuotaView {
    const r = row(tenantId);
    const defaults = deps.config().quotas.defaults;
    const limits = {} as QuotaLimits;
    const source: Record<string, "tenant" | "default"> = {};
    for (const f of QUOTA_FIELDS) {
      const own = r ? fromStored(f, r[COLUMN[f]]) : undefined;
      limits[f] = own === undefined ? defaults[f] : own;
      source[f] = own === undefined ? "default" : "tenant";
    }
    return { limits, source };
  }

  return {
    /** Applies a patch; fields not named keep their value. Call inside an audited transaction. */
    set(tenantId: string, patch: QuotaPatch): QuotaView {
      const existing = row(tenantId);
      const values: Partial<TenantQuotaRow> = {};
      for (const f of QUOTA_FIELDS) {
        const v = patch[f];
        if (v !== undefined) values[COLUMN[f]] = toStored(f, v);
      }
      const now = deps.clock.now();
      if (existing) db.update(TenantQuotaTable).set({ ...values, updatedAt: now }).where(eq(TenantQuotaTable.tenantId, tenantId)).run();
      else db.insert(TenantQuotaTable).values({ tenantId, ...values, updatedAt: now }).run();
      return view(tenantId);
    },

    view,

    status(tenantId: string) {
      const now = deps.clock.now();
      return { tenantId, ...view(tenantId), day: { resetsAt: new Date(nextUtcMidnight(now)).toISOString() } };
    },
  };
}

export type QuotaLimitsService = ReturnType<typeof createQuotaLimits>;
