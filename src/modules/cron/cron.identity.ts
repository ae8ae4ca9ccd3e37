// The identity a job acts as when it fires. A job outlives the request (and the token) that added it,
// so when it fires no edge has authenticated anyone: the scheduler mints the scope of the tenant that
// owns the job's row — the row's tenant id was the authenticated scope's when cron.add stored it, and
// no caller's parameter ever names it — bound to the tenant's incarnation at the fire. Like a request's
// identity it re-checks before each step: the tenant still active, still the same incarnation (a
// suspend, delete or restore ends the run). This file is one of the few allowed to mint a scope
// (tests/architecture/layers.test.ts).
import { IdentityEnded, mintTenantScope, type TenantIdentity, type TenantScope } from "../../edge/tenant-scope.ts";

export interface TenantState {
  incarnation(tenantId: string): string | null;
  isActive(tenantId: string): boolean;
}

/** The scope of the tenant that owns a stored job (never of a tenant id a caller sent). */
export function jobOwnerScope(row: { tenantId: string }): TenantScope {
  return mintTenantScope(row.tenantId);
}

/** The identity a firing job acts as: the owner's current incarnation, checked again at every step. */
export function jobIdentity(tenants: TenantState, row: { tenantId: string; id: string }, incarnation: string): TenantScope & TenantIdentity {
  const tenantId = row.tenantId;
  return mintTenantScope(tenantId, {
    incarnation,
    actor: { kind: "system" as const, id: `cron:${row.id}` },
    assertCurrent() {
      if (tenants.incarnation(tenantId) !== incarnation || !tenants.isActive(tenantId)) throw new IdentityEnded();
    },
    adopt() {},
  });
}
