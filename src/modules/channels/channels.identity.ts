// The identity a channel's inbound message acts as. A delivery comes from a chat platform, not from
// an authenticated tenant request: the webhook route (or the poller) learns the owner from the stored
// channel row its opaque hook id names — the row's tenant id was the authenticated scope's when
// channels.pair stored it, and nothing in the delivery names a tenant. The scope is bound to the
// tenant's incarnation when the message is dispatched and re-checked before each step (a suspend,
// delete or restore ends the run). This file is one of the few allowed to mint a scope
// (tests/architecture/layers.test.ts).
import { IdentityEnded, mintTenantScope, type TenantIdentity, type TenantScope } from "../../edge/tenant-scope.ts";

export interface TenantState {
  incarnation(tenantId: string): string | null;
  isActive(tenantId: string): boolean;
  /**
   * Watches live work of a tenant incarnation for changes made by another process (the CLI on the same
   * home): while watched, a suspend, delete or restore there reaches the module's onStop as one made here.
   */
  watch?(work: { tenantId: string; incarnation: string }): { end(): void };
}

/** The scope of the tenant that owns a stored channel (never of a tenant id a delivery sent). */
export function channelOwnerScope(row: { tenantId: string }): TenantScope {
  return mintTenantScope(row.tenantId);
}

/** The identity a dispatched message acts as: the owner's incarnation at dispatch, checked again at every step. */
export function channelIdentity(tenants: TenantState, row: { tenantId: string; id: string }, incarnation: string): TenantScope & TenantIdentity {
  const tenantId = row.tenantId;
  return mintTenantScope(tenantId, {
    incarnation,
    actor: { kind: "system" as const, id: `channel:${row.id}` },
    assertCurrent() {
      if (tenants.incarnation(tenantId) !== incarnation || !tenants.isActive(tenantId)) throw new IdentityEnded();
    },
    adopt() {},
  });
}
