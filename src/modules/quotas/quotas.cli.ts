// `openclaw tenants quota set`.
import { CliError, commandsFor, commonArgs, type CliTree } from "../module-cli.ts";
import { describeLimits, quotaArgs, quotaPatchFromArgs } from "../tenants/quota-args.ts";
import type { TenantsService } from "../tenants/tenants.service.ts";

type Services = { tenants: TenantsService };
const command = commandsFor<Services>();

const set = command({
  description: "Set a tenant's quota limits",
  args: { ...commonArgs, id: { type: "positional", required: true, description: "tenant id" }, ...quotaArgs },
  run({ tenants }, args, io) {
    const patch = quotaPatchFromArgs(args);
    if (!patch) throw new CliError("give at least one --quota.* flag (e.g. --quota.tokens-per-day 5000000)");
    const v = tenants.setQuota(io.operator.tenant(args.id), patch, io.operator);
    io.emit({ tenantId: args.id, ...v }, () => io.line(`✓ quota for ${args.id}: ${describeLimits(v.limits)}`));
  },
});

export const quotasCli: CliTree<Services> = {
  tenants: { commands: { quota: { description: "Tenant quotas", commands: { set } } } },
};
