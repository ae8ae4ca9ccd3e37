import { defineCommand } from "citty";
import { action, commonArgs, emit, line, withCore, type CommonArgs } from "../../context.ts";
import { describeLimits } from "../../quota-args.ts";

export default defineCommand({
  meta: { name: "show", description: "Show one tenant" },
  args: { ...commonArgs, id: { type: "positional", required: true, description: "tenant id" } },
  run: action<CommonArgs & { id: string }>((args) =>
    withCore(args, (core) => {
      const t = { ...core.tenants.get(args.id), overlay: core.overlays.status(args.id) };
      emit(args, t, () => {
        line(`Tenant:        ${t.tenantId}`);
        if (t.displayName) line(`Display name:  ${t.displayName}`);
        line(`Status:        ${t.status}${t.suspendedAt ? ` (since ${t.suspendedAt})` : ""}`);
        line(`Created:       ${t.createdAt}`);
        line(`Token:         ${t.token.prefix ?? "(none)"}${t.token.createdAt ? ` issued ${t.token.createdAt}` : ""}`);
        for (const g of t.token.inGrace) line(`               ${g.prefix} valid until ${g.expiresAt} (rotation grace)`);
        line(`Quota:         ${describeLimits(t.quota.limits)}`);
        line(`Directory:     ${core.tenants.dir(t.tenantId)}`);
        line(`Overlay:       ${t.overlay.state === "invalid" ? `REFUSED — its overlay-dependent calls are refused until it is fixed:\n  ${t.overlay.reason!.replaceAll("\n", "\n  ")}` : t.overlay.state}`);
      });
    }),
  ),
});
