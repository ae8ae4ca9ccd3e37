// What a provider learns about who sent a request: an opaque id per tenant, an HMAC of the tenant id
// under the gateway's secret. A tenant's own end-user id (`user`, `safety_identifier`) and cache key
// (`prompt_cache_key`) are namespaced under that id the same way, so nothing tenant A sends can name,
// or share a key with, tenant B at the provider, and the operator can still tell tenants (and a
// tenant's end users) apart in the provider's abuse reports.
import crypto from "node:crypto";

/** Base64url characters per HMAC part: 22 (132 bits). */
const PART = 22;

export function createProviderIdentity(secret: () => Buffer, incarnationOf: (tenantId: string) => string | null = () => null) {
  const tenants = new Map<string, string>();
  const mac = (label: string, ...parts: string[]) =>
    crypto.createHmac("sha256", secret()).update([label, ...parts].join("\u0000")).digest("base64url").slice(0, PART);

  // Keyed by the tenant's incarnation too: a new tenant that reuses a deleted id is a stranger to
  // the provider, never the old owner.
  function tenant(tenantId: string): string {
    const who = `${tenantId}\u0000${incarnationOf(tenantId) ?? ""}`;
    let id = tenants.get(who);
    if (id === undefined) {
      id = `oc-${mac("tenant", who)}`;
      if (tenants.size > 10_000) tenants.clear();
      tenants.set(who, id);
    }
    return id;
  }

  return {
    /** `oc-<tenant>`, or `oc-<tenant>-<end user>` when the tenant named one of its end users (48 characters). */
    user(tenantId: string, endUser?: unknown): string {
      const t = tenant(tenantId);
      return typeof endUser === "string" && endUser.length > 0 ? `${t}-${mac("end-user", t, endUser)}` : t;
    },
    /** A prompt cache key only this tenant can produce. */
    cacheKey(tenantId: string, key: string): string {
      return `${tenant(tenantId)}-${mac("cache-key", tenant(tenantId), key)}`;
    },
  };
}

export type ProviderIdentity = ReturnType<typeof createProviderIdentity>;
