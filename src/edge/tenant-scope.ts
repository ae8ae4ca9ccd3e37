// TenantScope: the tenant a call acts for, as the edge established it. Services that act for a tenant
// take one instead of a bare id, so no handler can hand them an id a caller sent in its params: a
// scope is minted only by the edge's authentication (a verified token: http/auth.ts), by the admin
// path that names a tenant explicitly (an admin key naming one: http/auth.ts), and by the operator's
// CLI (cli/context.ts). tests/architecture/layers.test.ts keeps it that way.
declare const scopeBrand: unique symbol;

export interface TenantScope {
  readonly tenantId: string;
  readonly [scopeBrand]: true;
}

/** Only the files named above may call this (the architecture test checks). */
export function mintTenantScope(tenantId: string): TenantScope {
  return Object.freeze({ tenantId }) as TenantScope;
}
