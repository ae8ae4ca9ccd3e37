// Quotas: admission of routed requests against each tenant's limits (reserving the worst case), the
// accounts of the day, and the quota status tenants and the operator see.
import { metricsModule } from "../metrics/metrics.module.ts";
import { defineModule } from "../module.ts";
import { sandboxModule } from "../sandbox/sandbox.module.ts";
import { tenantsModule } from "../tenants/tenants.module.ts";
import { usageModule } from "../usage/usage.module.ts";
import { createQuotaEngine } from "./quota-engine.ts";
import { quotasCli } from "./quotas.cli.ts";
import { quotasRoutes } from "./quotas.routes.ts";
import { quotasRpc } from "./quotas.rpc.ts";
import { createQuotasService } from "./quotas.service.ts";

export const quotasModule = defineModule({
  name: "quotas",
  needs: [metricsModule, tenantsModule, usageModule, sandboxModule],
  create(platform, { metrics, tenants, limits, usage }) {
    const quotaEngine = createQuotaEngine({
      clock: platform.clock,
      limits: (t) => limits.view(t).limits,
      usedOn: usage.usedOn,
      incarnation: tenants.incarnation,
      observe: { refused: metrics.quotaRefusal, settled: metrics.llmTokens },
    });
    return { quotaEngine, quotas: createQuotasService({ tenants, engine: quotaEngine }) };
  },
}).with({
  admin: quotasRoutes,
  rpc: quotasRpc,
  cli: quotasCli,
  tenantData: {
    // A deleted tenant's account, or one whose usage a restore replaced, is opened afresh from the ledger.
    onDelete: ({ quotaEngine }, tenant) => quotaEngine.forget(tenant),
    onRestore: ({ quotaEngine }, tenant) => quotaEngine.forget(tenant),
  },
});
