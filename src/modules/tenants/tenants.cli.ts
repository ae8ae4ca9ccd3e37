// `openclaw tenants create | list | show | suspend | resume | delete | token rotate`.
import { commandsFor, commonArgs, CliError, type CliTree } from "../module-cli.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import { trashDrained } from "../../lib/tenant-dirs.ts";
import { parseGrace } from "./grace.ts";
import { describeLimits, quotaArgs, quotaPatchFromArgs } from "./quota-args.ts";
import type { TenantsService } from "./tenants.service.ts";

type Services = { tenants: TenantsService; overlays: OverlaysService };
const command = commandsFor<Services>();
const id = { type: "positional", required: true, description: "tenant id" } as const;

const create = command({
  description: "Create a tenant and print its token (shown once)",
  args: { ...commonArgs, id: { type: "positional", description: "tenant id: 1-32 lowercase letters, digits, inner hyphens", required: true }, "display-name": { type: "string", description: "human-readable name" }, ...quotaArgs },
  run({ tenants }, args, io) {
    const created = tenants.create({ id: args.id, displayName: args["display-name"], quota: quotaPatchFromArgs(args) }, io.operator);
    io.emit(created, () => {
      io.line(`✓ tenant created · tenants/${created.tenantId}`);
      io.line("✓ token (copy now — shown once):");
      io.line(created.token);
      io.line(`✓ quota: ${describeLimits(created.tenant.quota.limits)}`);
    });
  },
});

const list = command({
  description: "List tenants",
  args: { ...commonArgs },
  run({ tenants }, _args, io) {
    const all = tenants.list();
    io.emit(all, () => {
      if (all.length === 0) return io.line("No tenants. Create one with: openclaw tenants create <id>");
      for (const t of all) io.line(`${t.tenantId}${t.displayName ? ` (${t.displayName})` : ""}  ${t.status}  created ${t.createdAt}  token ${t.token.prefix ?? "-"}`);
    });
  },
});

const show = command({
  description: "Show one tenant",
  args: { ...commonArgs, id },
  run({ tenants, overlays }, args, io) {
    const tenant = io.operator.tenant(args.id);
    const t = { ...tenants.get(tenant), overlay: overlays.status(tenant) };
    io.emit(t, () => {
      io.line(`Tenant:        ${t.tenantId}`);
      if (t.displayName) io.line(`Display name:  ${t.displayName}`);
      io.line(`Status:        ${t.status}${t.suspendedAt ? ` (since ${t.suspendedAt})` : ""}`);
      io.line(`Created:       ${t.createdAt}`);
      io.line(`Token:         ${t.token.prefix ?? "(none)"}${t.token.createdAt ? ` issued ${t.token.createdAt}` : ""}`);
      for (const g of t.token.inGrace) io.line(`               ${g.prefix} valid until ${g.expiresAt} (rotation grace)`);
      io.line(`Quota:         ${describeLimits(t.quota.limits)}`);
      io.line(`Directory:     ${tenants.dir(tenant)}`);
      io.line(`Overlay:       ${t.overlay.state === "invalid" ? `REFUSED — its overlay-dependent calls are refused until it is fixed:\n  ${t.overlay.reason!.replaceAll("\n", "\n  ")}` : t.overlay.state}`);
    });
  },
});

const status = (verb: "suspend" | "resume", description: string) =>
  command({
    description,
    args: { ...commonArgs, id },
    run({ tenants }, args, io) {
      const tenant = io.operator.tenant(args.id);
      const t = verb === "suspend" ? tenants.suspend(tenant, io.operator) : tenants.resume(tenant, io.operator);
      io.emit(t, () => io.line(`✓ tenant ${t.tenantId} is ${t.status}`));
    },
  });

const remove = command({
  description: "Delete a tenant: its record, token hashes and directory (the audit log keeps its records)",
  args: { ...commonArgs, id, confirm: { type: "boolean", description: "required: confirms the deletion" } },
  async run({ tenants }, args, io) {
    const tenant = io.operator.tenant(args.id); // unknown tenant: say so rather than ask for --confirm
    if (!args.confirm) throw new CliError(`deleting tenant "${args.id}" wipes tenants/${args.id} and its token; nothing was changed. Re-run with --confirm`);
    const result = tenants.remove(tenant, io.operator);
    // The directory is removed in the background (in time slices); the command says "wiped" once it is.
    await trashDrained();
    io.emit(result, () => {
      io.line(`✓ tenant directory wiped · tenants/${args.id}`);
      io.line("✓ token hash removed");
      io.line(`✓ tenant ${args.id} deleted (the audit log keeps its records)`);
    });
  },
});

const rotate = command({
  description: "Mint a new token (shown once); the old one stops working now or after --grace",
  args: { ...commonArgs, id, grace: { type: "string", description: 'keep the old token working this long: "0" (default), "90s", "15m", "1h", "7d"' } },
  run({ tenants }, args, io) {
    const grace = parseGrace(args.grace, "--grace", (m) => new CliError(m));
    const r = tenants.rotateToken(io.operator.tenant(args.id), grace, io.operator);
    io.emit(r, () => {
      io.line(`✓ new token for ${r.tenantId} (copy now — shown once):`);
      io.line(r.token);
      io.line(r.graceUntil ? `✓ the old token keeps working until ${r.graceUntil}` : "✓ the old token stops working now: requests with it get 401");
    });
  },
});

export const tenantsCli: CliTree<Services> = {
  tenants: {
    description: "Create, inspect and manage tenants",
    commands: {
      create,
      list,
      show,
      suspend: status("suspend", "Suspend a tenant: its token is refused until it is resumed"),
      resume: status("resume", "Resume a suspended tenant"),
      delete: remove,
      token: { description: "Tenant tokens", commands: { rotate } },
    },
  },
};
