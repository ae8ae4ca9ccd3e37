// Tenant RPC methods: skills.* and plugins.* — list, install (an uploaded archive), enable, disable,
// remove — each for the caller's own packages only (defineTenantMethod; the service looks them up
// under the caller's tenant). install, enable, disable and remove are audited changes.
import { defineTenantMethod } from "../../edge/rpc.ts";
import type { PackageKind } from "./package.types.ts";
import { archiveBytes, InstallFields, PackageListSchema, PackageName, PackageViewSchema, RemovedSchema } from "./skills.model.ts";
import type { SkillsService } from "./skills.service.ts";

/** A small skill, pdf-tools, as a tar.gz: the method examples. */
const EXAMPLE_ARCHIVE = "H4sIAAAAAAAAA+3SwW6DMAwGYM48hV8AlgBJpZ7bSdM4TN0TIAgaaiEoMVoff0ClTkLqqWurbf93cQ6JY8fpqzpiaw/+KbgZMVopNcfRMs5rqVKhtMhWSRoIKaUWAanblfRt8Fy4sZRr8yyb+yX68/zfX1/yPG6rn79jeg+dZRfnL5VezD9JdRLQXR7xn88/iqKwK1qzpvNPCCvjS9f03NhuTdsju6JkYnNkqp1t6W3zTHVzMJ6ajvjD0Kd1e98XpYnDKd1u6KZkbOcj9rRnOhCHj+4WAAAAAAAAAAAAAAAAAAAAAOBv+QJd5TveACgAAA==";
/** The same, a plugin with one tool. */
const EXAMPLE_PLUGIN_ARCHIVE = "H4sIAAAAAAAAA+3Vz0vDMBQH8J39K8LDgw7XH7qssLN6FvRmJ8Qus9E1iUmGiux/N+1wykQ86BTh+7mkpK8vaV+S2ulsEIyZ+7S3NVlUcN610WbbXef8KOOjrCiyopfleT7iPca3N6U3Cx+Ei1P5bp7Nl/sn7Lr+QT6GxNdbGKP9HqPh8PP6F3yj/oc8NuxXPiLqH0xbeka7e15O2UAz8mnSL8mKUJc0Lqncu7wqadIv90tK+mmZp5b2iQ12/nry8G1v+99Yqau5eEjsfHGjdHLrjf6ZMb7a/8PDYmP/87zIsP9/wzNp0Uga03oh0AFNpa+cskEZHe+cPAYnqsC6U2LmTMPOjk/ZTM2lT2Lw6qHx5TpTG/chyUUtVwnMjIkugdIsxM4H4+68FZWMjyhtF+G8qmUjaPxM4cm2+cz1razajNbFNeqCkr692x5P76J8cErf0HJ5QE7eL5ST0zipVdQkdlamaYTu+tJrpVNfx4xpo0O6Wu+v/78YPFniZAMAAAAAAAAAAAAAAAAAgP/lBXfPei0AKAAA";

function methodsFor(skills: SkillsService, kind: PackageKind) {
  const ns = `${kind}s`;
  return [
    defineTenantMethod({
      name: `${ns}.list`,
      summary: `The caller's ${kind}s${kind === "skill" ? " (and the operator's, source \"operator\")" : ""}: each with its status (error: the reason it cannot be used), whether it is enabled, and what it holds.`,
      params: {},
      result: PackageListSchema,
      mutates: false,
      example: {},
      handler: (tenant) => ({ items: skills.list(tenant, kind) }),
    }),
    defineTenantMethod({
      name: `${ns}.install`,
      summary: `Installs a ${kind} from an archive (tar, tar.gz or zip, base64): every entry is checked (no links, devices, traversal, bombs; caps on files and bytes), the package is checked whole, and only then put in place. Enabled once installed.`,
      params: InstallFields,
      result: PackageViewSchema,
      mutates: true,
      audited: true,
      example: { archive: kind === "skill" ? EXAMPLE_ARCHIVE : EXAMPLE_PLUGIN_ARCHIVE },
      handler: (tenant, p, ctx) => skills.install(tenant, kind, { archive: archiveBytes(p.archive), name: p.name, replace: p.replace }, ctx.op),
    }),
    defineTenantMethod({
      name: `${ns}.enable`,
      summary: `Enables one of the caller's ${kind}s: its agents see it again.`,
      params: { name: PackageName },
      result: PackageViewSchema,
      mutates: true,
      audited: true,
      example: { name: "pdf-tools" },
      handler: (tenant, p, ctx) => skills.setEnabled(tenant, kind, p.name, true, ctx.op),
    }),
    defineTenantMethod({
      name: `${ns}.disable`,
      summary: `Disables one of the caller's ${kind}s: kept, but its agents no longer see it.`,
      params: { name: PackageName },
      result: PackageViewSchema,
      mutates: true,
      audited: true,
      example: { name: "pdf-tools" },
      handler: (tenant, p, ctx) => skills.setEnabled(tenant, kind, p.name, false, ctx.op),
    }),
    defineTenantMethod({
      name: `${ns}.remove`,
      summary: `Removes one of the caller's ${kind}s and its files.`,
      params: { name: PackageName },
      result: RemovedSchema,
      mutates: true,
      audited: true,
      example: { name: "pdf-tools" },
      handler: (tenant, p, ctx) => skills.remove(tenant, kind, p.name, ctx.op),
    }),
  ];
}

export function skillsRpc({ skills }: { skills: SkillsService }) {
  return [...methodsFor(skills, "skill"), ...methodsFor(skills, "plugin")];
}

