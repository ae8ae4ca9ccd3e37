// What every tenant RPC request takes before it runs, over POST /rpc and the WebSocket alike: a place
// among the tenant's requests in progress (gateway.limits.rpcConcurrentPerTenant; more get
// RATE_LIMITED), per changing method room above the disk reserve, and, per audited method, one of its
// audited changes (the tenant's one budget, core.changeBudget, which the upstream protocol on `/`
// draws from too). Shared by both transports, so a tenant's WebSocket frames and HTTP requests count
// against the same budgets.
import type { Core } from "../app/core.ts";
import { AppError } from "../core/errors.ts";

export function createRpcAdmission(core: Core) {
  const inProgress = new Map<string, number>();
  return {
    /** A place for one request of this tenant, or RATE_LIMITED. Release is idempotent. */
    admit(tenantId: string): () => void {
      const max = core.config.gateway.limits.rpcConcurrentPerTenant;
      const n = inProgress.get(tenantId) ?? 0;
      if (n >= max) {
        throw new AppError("RATE_LIMITED", `too many RPC requests in progress for this tenant (at most ${max}: gateway.limits.rpcConcurrentPerTenant); retry when one has finished`, {
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
     * The dispatcher's reserve hook: under the disk reserve (on any filesystem of the gateway's state)
     * a tenant's changes wait, UNAVAILABLE; the operator's do not go through here.
     */
    admitChange(method: string): void {
      core.disk.assertTenantWritable(`a tenant's ${method} was refused`);
    },
    /** The dispatcher's change-rate hook for this tenant: null when granted, else seconds to wait. */
    takeChange(tenantId: string): number | null {
      return core.changeBudget.take(tenantId);
    },
  };
}

export type RpcAdmission = ReturnType<typeof createRpcAdmission>;
