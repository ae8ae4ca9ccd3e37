import { defineCommand } from "citty";
import { action, CliError, commonArgs, emit, line, operator, withCore, type CommonArgs } from "../../context.ts";
import { describeLimits, quotaArgs, quotaPatchFromArgs } from "../../quota-args.ts";

const set = defineCommand({
  meta: { name: "set", description: "Set a tenant's quota limits" },
  args: { ...commonArgs, id: { type: "positional", required: true, description: "tenant id" }, ...quotaArgs },
  run: action<CommonArgs & { id: string } & Record<string, unknown>>((args) =>
    withCore(args, (core) => {
      const patch = quotaPatchFromArgs(args);
      if (!patch) throw new CliError("give at least one --quota.* flag (e.g. --quota.tokens-per-day 5000000)");
      const v = core.tenants.setQuota(args.id, patch, operator(core));
      emit(args, { tenantId: args.id, ...v }, () => line(`✓ quota for ${args.id}: ${describeLimits(v.limits)}`));
    }),
  ),
});

export default defineCommand({
  meta: { name: "quota", description: "Tenant quotas" },
  subCommands: { set },
});
