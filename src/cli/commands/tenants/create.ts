import { defineCommand } from "citty";
import { action, commonArgs, emit, line, operator, withCore, type CommonArgs } from "../../context.ts";
import { describeLimits, quotaArgs, quotaPatchFromArgs } from "../../quota-args.ts";

type Args = CommonArgs & { id: string; "display-name"?: string } & Record<string, unknown>;

export default defineCommand({
  meta: { name: "create", description: "Create a tenant and print its token (shown once)" },
  args: {
    ...commonArgs,
    id: { type: "positional", description: "tenant id: 1-32 lowercase letters, digits, inner hyphens", required: true },
    "display-name": { type: "string", description: "human-readable name" },
    ...quotaArgs,
  },
  run: action<Args>((args) =>
    withCore(args, (core) => {
      const created = core.tenants.create({ id: args.id, displayName: args["display-name"], quota: quotaPatchFromArgs(args) }, operator(core));
      emit(args, created, () => {
        line(`✓ tenant created · tenants/${created.tenantId}`);
        line("✓ token (copy now — shown once):");
        line(created.token);
        line(`✓ quota: ${describeLimits(created.tenant.quota.limits)}`);
      });
    }),
  ),
});
