// The tenant's rate of audited changes (gateway.limits.tenantChangesPerMinute / tenantChangesBurst):
// ONE budget per tenant, whatever surface a change comes through — /rpc over HTTP or WebSocket, the
// upstream protocol on `/`. A budget per surface would multiply what a tenant may write to the audit
// log by the number of surfaces, and a surface with limits of its own would ignore the operator's.
import type { GatewayConfig } from "../../config/schema.ts";
import type { Clock } from "../../core/clock.ts";
import { TokenBuckets, type BucketLimits } from "../../lib/token-bucket.ts";

export function createChangeBudget(deps: { config(): GatewayConfig; clock: Clock }) {
  const buckets = new TokenBuckets();
  const limits = (): BucketLimits => {
    const l = deps.config().gateway.limits;
    return { perMinute: l.tenantChangesPerMinute, burst: l.tenantChangesBurst };
  };
  return {
    /** The limits in force (for the refusal's text). */
    limits,
    /** Takes one of the tenant's changes: null when granted, else the seconds until one is available. */
    take(tenantId: string): number | null {
      return buckets.take(tenantId, deps.clock.now(), limits());
    },
  };
}

export type ChangeBudget = ReturnType<typeof createChangeBudget>;
