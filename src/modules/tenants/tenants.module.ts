// Tenants: the tenant record, its token hashes and its quota limits, and the directory tree
// tenants/<id>/. Deleting a tenant is done here for every module (TenantData).
import { emptyTrash } from "../../lib/tenant-dirs.ts";
import { auditModule } from "../audit/audit.module.ts";
import { defineModule } from "../module.ts";
import { overlaysModule } from "../overlays/overlays.module.ts";
import { createQuotaLimits } from "./quota-limits.service.ts";
import { tenantsCli } from "./tenants.cli.ts";
import { tenantsRoutes } from "./tenants.routes.ts";
import { tenantsRpc } from "./tenants.rpc.ts";
import { createTenantsService } from "./tenants.service.ts";
import { restoreTenantRow, restoreTokenRow } from "./tenants.restore.ts";
import { createTokensService } from "./tokens.service.ts";

export const tenantsModule = defineModule({
  name: "tenants",
  needs: [auditModule, overlaysModule],
  create(platform, { audit }) {
    const tokens = createTokensService({ db: platform.handle.db, clock: platform.clock, changes: platform.changes });
    const limits = createQuotaLimits({ db: platform.handle.db, clock: platform.clock, config: platform.config, changes: platform.changes });
    const tenants = createTenantsService({ platform, audit, tokens, limits });
    // What a delete interrupted by a crash left behind (its record is gone already), in the background.
    void emptyTrash(platform.home, (err) => platform.log.warn("a trashed tenant directory could not be removed yet (the next start tries again)", { error: String(err) }));
    return { tenants, tokens, limits };
  },
}).with({
  admin: tenantsRoutes,
  rpc: tenantsRpc,
  cli: tenantsCli,
  tenantData: {
    tables: [
      { table: "tenants", tenantColumn: "id", root: true, restoreRow: restoreTenantRow },
      { table: "tenant_quotas", tenantColumn: "tenant_id" },
      { table: "tenant_tokens", tenantColumn: "tenant_id", restoreRow: restoreTokenRow },
    ],
    // Reserved for the features to come (memory, cron, channels): each moves to its own
    // module's `dirs` when that module arrives. The workspace is the sandbox's; sessions are the agents'.
    dirs: ["memory", "cron", "channels"],
  },
});
