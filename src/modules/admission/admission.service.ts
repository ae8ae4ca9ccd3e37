// What every tenant request takes before it runs, on every tenant surface — JSON-RPC over POST /rpc and
// the /rpc WebSocket, upstream's protocol v4 on `/`, and whatever is added later: a place among the
// tenant's requests in progress (gateway.limits.rpcConcurrentPerTenant; more get RATE_LIMITED), per
// changing method room above the disk reserve, and, per audited change, one token of the tenant's ONE
// bucket (gateway.limits.tenantChangesPerMinute / tenantChangesBurst). The state lives here, in one
// service, so that a tenant using two surfaces at once gets one budget, not one per surface (the v4
// surface once kept a bucket of its own with hard-coded limits, and took neither the places nor the
// reserve).
import type { GatewayConfig } from "../../config/schema.ts";
import type { Clock } from "../../core/clock.ts";
import { AppError } from "../../core/errors.ts";
import { TokenBuckets } from "../../lib/token-bucket.ts";

export interface AdmissionDeps {
  config: () => GatewayConfig;
  clock: Clock;
  /** The disk reserve's check of a tenant's change (disk.assertTenantWritable). */
  assertTenantWritable: (what: string) => void;
  /** Told the limit of every refusal (the operator's metrics: openclaw_quota_refusals_total). */
  refused?: (limit: string) => void;
}

export function createAdmission(deps: AdmissionDeps) {
  const inProgress = new Map<string, number>();
  const changes = new TokenBuckets();
  const limits = () => deps.config().gateway.limits;

  /** The tenant's change bucket: null when a token was taken, else the seconds until one is there. */
  function takeChange(tenantId: string): number | null {
    const l = limits();
    const wait = changes.take(tenantId, deps.clock.now(), { perMinute: l.tenantChangesPerMinute, burst: l.tenantChangesBurst });
    if (wait !== null) deps.refused?.("gateway.limits.tenantChangesPerMinute");
    return wait;
  }

  return {
    /** A place for one request of this tenant, or RATE_LIMITED. Release is idempotent. */
    admit(tenantId: string): () => void {
      const max = limits().rpcConcurrentPerTenant;
      const n = inProgress.get(tenantId) ?? 0;
      if (n >= max) {
        deps.refused?.("gateway.limits.rpcConcurrentPerTenant");
        throw new AppError("RATE_LIMITED", `too many requests in progress for this tenant (at most ${max}: gateway.limits.rpcConcurrentPerTenant); retry when one has finished`, {
          headers: { "retry-after": "1" },
          details: { retryAfterSeconds: 1, limit: max },
        });
      }
      inProgress.set(tenantId, n + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (inProgress.get(tenantId) ?? 1) - 1;
        if (left > 0) inProgress.set(tenantId, left);
        else inProgress.delete(tenantId);
      };
    },

    /**
     * Before a tenant's change: under the disk reserve (on any filesystem of the gateway's state) it
     * waits, UNAVAILABLE. The operator's changes do not go through here.
     */
    admitChange(method: string): void {
      deps.assertTenantWritable(`a tenant's ${method} was refused`);
    },

    takeChange,

    /** Takes one of the tenant's audited changes, or throws RATE_LIMITED naming the method and when to retry. */
    spendChange(tenantId: string, method: string): void {
      const wait = takeChange(tenantId);
      if (wait === null) return;
      throw new AppError("RATE_LIMITED", `too many changes: ${method} was not run; a tenant may make ${limits().tenantChangesPerMinute} audited changes a minute (gateway.limits.tenantChangesPerMinute); retry in ${wait} s`, {
        headers: { "retry-after": String(wait) },
        details: { retryAfterSeconds: wait, method },
      });
    },

    /** Requests of the tenant in progress now, on every surface (tests and status). */
    inProgress: (tenantId: string) => inProgress.get(tenantId) ?? 0,
  };
}

export type Admission = ReturnType<typeof createAdmission>;
