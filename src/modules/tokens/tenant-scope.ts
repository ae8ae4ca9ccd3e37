// The identity a tenant request authenticated as, for as long as the request lives. A request may
// outlive the identity it was admitted with — a batch of slow items, a long body upload, a stream —
// while the operator suspends the tenant, rotates its token, or deletes it and creates another
// tenant under the same id. So the identity is bound at authentication to the tenant's incarnation
// and to the token that was presented, and every long-lived surface re-checks it before each step
// (`assertCurrent`); a stale identity ends the request with the same 401 an invalid token gets.
import { AppError } from "../../core/errors.ts";
import type { Actor } from "../audit/audit.record.ts";
import type { TokensService } from "./tokens.service.ts";

/** The one 401 every authentication failure gets — here, for an identity that stopped being valid. */
export class IdentityEnded extends AppError {
  constructor() {
    super("UNAUTHORIZED", "invalid or missing credentials");
  }
}

export interface TenantScope {
  readonly tenantId: string;
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
}

export interface ScopeDeps {
  tokens: Pick<TokensService, "verify">;
  incarnation(tenantId: string): string | null;
}

/**
 * Binds a request to the identity `token` verified as, now. Null when there is none (the token does
 * not verify, or its tenant vanished in between): the caller answers that as any failed credential.
 */
export function bindTenantScope(deps: ScopeDeps, token: string): TenantScope | null {
  const first = deps.tokens.verify(token);
  if (!first.ok) return null;
  const { tenantId } = first;
  const incarnation = deps.incarnation(tenantId);
  if (incarnation === null) return null;
  let current = token;
  let ended = false;
  return {
    tenantId,
    incarnation,
    actor: { kind: "tenant", id: first.actorId },
    assertCurrent() {
      if (!ended) {
        const r = deps.tokens.verify(current);
        ended = !r.ok || r.tenantId !== tenantId || deps.incarnation(tenantId) !== incarnation;
      }
      if (ended) throw new IdentityEnded();
    },
    adopt(token: string) {
      const r = deps.tokens.verify(token);
      if (r.ok && r.tenantId === tenantId && deps.incarnation(tenantId) === incarnation) current = token;
    },
  };
}
