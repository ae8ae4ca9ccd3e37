// TenantScope: the tenant a call acts for, as the edge established it. Services that act for a tenant
// take one instead of a bare id, so no handler can hand them an id a caller sent in its params: a
// scope is minted only by the edge's authentication (a verified token: http/tenant-identity.ts), by
// the admin path that names a tenant explicitly (an admin key naming one: http/auth.ts), and by the
// operator's CLI (cli/context.ts). tests/architecture/layers.test.ts keeps it that way.
import { AppError } from "../core/errors.ts";
import type { Actor, OpContext } from "./actor.ts";

declare const scopeBrand: unique symbol;

export interface TenantScope {
  readonly tenantId: string;
  readonly [scopeBrand]: true;
}

/**
 * The identity a tenant request authenticated as, for as long as the request lives. A request may
 * outlive the identity it was admitted with — a batch of slow items, a long body upload, a stream —
 * while the operator suspends the tenant, rotates its token, or deletes it and creates another
 * tenant under the same id. So the identity is bound at authentication to the tenant's incarnation
 * and to the token that was presented, and every long-lived surface re-checks it before each step
 * (`assertCurrent`); a stale identity ends the request with the same 401 an invalid token gets.
 */
export interface TenantIdentity extends TenantScope {
  /** The tenant's incarnation when the request was authenticated. */
  readonly incarnation: string;
  readonly actor: Actor;
  /**
   * Throws IdentityEnded unless the presented token still verifies (not rotated away, not past its
   * grace), the tenant is still active, and it is still the same incarnation. Cheap: the token check
   * reads digests cached until the change tracker says something was committed.
   */
  assertCurrent(): void;
  /** The request itself replaced its token (tenants.rotate): it goes on as the holder of the new one. */
  adopt(token: string): void;
  /** The web console session (its id) the request came with, if it came by cookie: a sign-out ends what it opened. */
  readonly consoleSession?: string;
}

/**
 * Re-checks a scope that came from a tenant request (a TenantIdentity) before a long step begins:
 * throws IdentityEnded once its token, incarnation or status has changed. The operator's scopes (CLI,
 * admin API) carry no such identity and pass.
 */
export function assertCurrent(scope: TenantScope): void {
  const identity = scope as Partial<TenantIdentity>;
  if (typeof identity.assertCurrent === "function") identity.assertCurrent();
}

/** Whether the scope's identity still holds (assertCurrent without the throw). */
export function isCurrent(scope: TenantScope): boolean {
  try {
    assertCurrent(scope);
    return true;
  } catch {
    return false;
  }
}

/**
 * The operator (CLI) or an admin-key holder (control plane): it may name any tenant. `tenant(id)`
 * gives that tenant's scope, or NOT_FOUND when no tenant has the id. A tenant's own context never has
 * this: a tenant acts only within the scope its token established.
 */
export interface AdminContext extends OpContext {
  tenant(id: string): TenantScope;
}

/** The one 401 every authentication failure gets — here, for an identity that stopped being valid. */
export class IdentityEnded extends AppError {
  constructor() {
    super("UNAUTHORIZED", "invalid or missing credentials");
  }
}

/** Only the files named above may call this (the architecture test checks). */
export function mintTenantScope(tenantId: string): TenantScope;
export function mintTenantScope<X extends object>(tenantId: string, extra: X): TenantScope & X;
export function mintTenantScope(tenantId: string, extra?: object): TenantScope {
  return Object.freeze({ ...extra, tenantId }) as TenantScope;
}
