// Binding a tenant request to the identity its token verified as (see TenantIdentity in
// edge/tenant-scope.ts): the tenant surfaces' authentication mints the request's scope here.
import { IdentityEnded, mintTenantScope, type TenantIdentity } from "../edge/tenant-scope.ts";
import type { TokensService } from "../modules/tenants/tokens.service.ts";

export interface IdentityDeps {
  tokens: Pick<TokensService, "verify" | "verifier">;
  incarnation(tenantId: string): string | null;
}

/**
 * Binds a request to the identity `token` verified as, now. Null when there is none (the token does
 * not verify, or its tenant vanished in between): the caller answers that as any failed credential.
 */
export function bindTenantIdentity(deps: IdentityDeps, token: string): TenantIdentity | null {
  const first = deps.tokens.verify(token);
  if (!first.ok) return null;
  const { tenantId } = first;
  const incarnation = deps.incarnation(tenantId);
  if (incarnation === null) return null;
  // The token's hash and parse are done once; each re-check looks at the tenant's current hashes.
  let current = deps.tokens.verifier(token);
  let ended = false;
  return mintTenantScope(tenantId, {
    incarnation,
    actor: { kind: "tenant" as const, id: first.actorId },
    assertCurrent() {
      if (!ended) {
        const r = current();
        ended = !r.ok || r.tenantId !== tenantId || deps.incarnation(tenantId) !== incarnation;
      }
      if (ended) throw new IdentityEnded();
    },
    adopt(token: string) {
      const r = deps.tokens.verify(token);
      if (r.ok && r.tenantId === tenantId && deps.incarnation(tenantId) === incarnation) current = deps.tokens.verifier(token);
    },
  });
}

/**
 * The identity of a web console session (http/console-auth.ts): bound to the token the session signed
 * in with and the tenant's incarnation; `stillValid` re-checks the session (not signed out, within its
 * limits) and what it was bound to. A session never holds the token itself, so it cannot adopt one.
 */
export function bindSessionIdentity(s: { id: string; tenantId: string; incarnation: string; actor: { kind: "tenant"; id: string } }, stillValid: () => boolean): TenantIdentity {
  let ended = false;
  return mintTenantScope(s.tenantId, {
    consoleSession: s.id,
    incarnation: s.incarnation,
    actor: s.actor,
    assertCurrent() {
      if (!ended) ended = !stillValid();
      if (ended) throw new IdentityEnded();
    },
    adopt() {
      // A rotation by a console session ends the session (its token is no longer live).
    },
  });
}
