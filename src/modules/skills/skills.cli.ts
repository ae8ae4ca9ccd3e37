// `openclaw skills|plugins list | install | enable | disable | remove --tenant <id>`: the operator's
// view of a tenant's skills and plugins. Each command names its tenant through the operator's
// context and calls the skills service, which audits the changes under the OS user.
import fs from "node:fs";
import { CliError, commandsFor, commonArgs, type CliTree } from "../module-cli.ts";
import type { PackageKind, PackageView } from "./package.types.ts";
import type { SkillsService } from "./skills.service.ts";

type Services = { skills: SkillsService };
const command = commandsFor<Services>();
const tenant = { type: "string", required: true, description: "tenant id" } as const;

function line(p: PackageView): string {
  const state = p.status === "error" ? `error: ${p.error}` : p.enabled ? "enabled" : "disabled";
  const tools = p.tools.length ? `  tools: ${p.tools.join(", ")}` : "";
  return `${p.name}  ${p.source}  ${state}  ${p.files} files ${p.bytes} bytes  ${JSON.stringify(p.description.slice(0, 80))}${tools}`;
}

function commands(kind: PackageKind) {
  const ns = `${kind}s`;
  const name = { type: "positional", required: true, description: `${kind} name (from openclaw ${ns} list)` } as const;
  return {
    list: command({
      description: `List a tenant's ${ns} (with their status)`,
      args: { ...commonArgs, tenant },
      run({ skills }, args, io) {
        const items = skills.list(io.operator.tenant(args.tenant), kind);
        io.emit({ items }, () => {
          if (items.length === 0) return io.line(`No ${ns} for ${args.tenant}. Install one with: openclaw ${ns} install <archive> --tenant ${args.tenant}`);
          for (const p of items) io.line(line(p));
        });
      },
    }),
    install: command({
      description: `Install a ${kind} for a tenant from an archive file (tar, tar.gz or zip)`,
      args: {
        ...commonArgs,
        tenant,
        archive: { type: "positional", required: true, description: "the archive file" },
        name: { type: "string", description: `the ${kind}'s name (checked against the archive's)` },
        replace: { type: "boolean", description: "install over a package of the same name" },
      },
      async run({ skills }, args, io) {
        let bytes: Buffer;
        try {
          bytes = fs.readFileSync(args.archive);
        } catch (err) {
          throw new CliError(`cannot read ${args.archive}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        }
        const p = await skills.install(io.operator.tenant(args.tenant), kind, { archive: bytes, name: args.name, replace: !!args.replace }, io.operator);
        io.emit(p, () => io.line(`✓ ${kind} installed · ${line(p)}`));
      },
    }),
    enable: command({
      description: `Enable a tenant's ${kind}`,
      args: { ...commonArgs, tenant, name },
      async run({ skills }, args, io) {
        const p = await skills.setEnabled(io.operator.tenant(args.tenant), kind, args.name, true, io.operator);
        io.emit(p, () => io.line(`✓ ${kind} ${p.name} enabled`));
      },
    }),
    disable: command({
      description: `Disable a tenant's ${kind} (kept; its agents no longer see it)`,
      args: { ...commonArgs, tenant, name },
      async run({ skills }, args, io) {
        const p = await skills.setEnabled(io.operator.tenant(args.tenant), kind, args.name, false, io.operator);
        io.emit(p, () => io.line(`✓ ${kind} ${p.name} disabled`));
      },
    }),
    remove: command({
      description: `Remove a tenant's ${kind} and its files`,
      args: { ...commonArgs, tenant, name },
      async run({ skills }, args, io) {
        const r = await skills.remove(io.operator.tenant(args.tenant), kind, args.name, io.operator);
        io.emit(r, () => io.line(`✓ ${kind} ${r.name} removed`));
      },
    }),
  };
}

export const skillsCli: CliTree<Services> = {
  skills: { description: "Tenants' skills (SKILL.md folders)", commands: commands("skill") },
  plugins: { description: "Tenants' plugins (openclaw.plugin.json: tools run in the tenant's sandbox)", commands: commands("plugin") },
};
