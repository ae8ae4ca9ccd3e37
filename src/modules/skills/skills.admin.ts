// Control-plane routes (/admin/v1/tenants/:id/skills|plugins…): the operator lists, installs,
// enables, disables and removes a tenant's skills and plugins. Each handler names its tenant through
// the admin's context (NOT_FOUND for an unknown tenant) and makes one call into the skills service,
// which audits the changes under the admin as actor.
import { Elysia, t } from "elysia";
import { adminOf } from "../../edge/request-info.ts";
import { routeDoc } from "../../edge/route-doc.ts";
import { PACKAGE_NAME_PATTERN, type PackageKind } from "./package.types.ts";
import { archiveBytes, InstallFields, PackageListSchema, PackageViewSchema, RemovedSchema } from "./skills.model.ts";
import type { SkillsService } from "./skills.service.ts";

const Tenant = t.Object({ id: t.String({ maxLength: 64 }) });
const TenantPackage = t.Object({ id: t.String({ maxLength: 64 }), name: t.String({ maxLength: 64, pattern: PACKAGE_NAME_PATTERN }) });

function routesFor(skills: SkillsService, kind: PackageKind) {
  const ns = `${kind}s`;
  const doc = routeDoc(ns);
  return new Elysia({ prefix: `/tenants/:id/${ns}` })
    .get("", ({ params, request }) => ({ items: skills.list(adminOf(request).tenant(params.id), kind) }), {
      params: Tenant,
      response: PackageListSchema,
      ...doc(`${ns}.list`, `A tenant's ${kind}s, with their status and whether each is enabled`),
    })
    .post(
      "",
      async ({ params, body, request, set }) => {
        const admin = adminOf(request);
        const p = await skills.install(admin.tenant(params.id), kind, { archive: archiveBytes(body.archive), name: body.name, replace: body.replace }, admin);
        set.status = 201;
        return p;
      },
      { params: Tenant, body: t.Object(InstallFields, { additionalProperties: false }), response: { 201: PackageViewSchema }, ...doc(`${ns}.install`, `Install a ${kind} for a tenant from an archive (tar, tar.gz or zip, base64)`, ["CONFLICT", "QUOTA_EXCEEDED"]) },
    )
    .post("/:name/enable", ({ params, request }) => {
      const admin = adminOf(request);
      return skills.setEnabled(admin.tenant(params.id), kind, params.name, true, admin);
    }, { params: TenantPackage, response: PackageViewSchema, ...doc(`${ns}.enable`, `Enable a tenant's ${kind}`, ["CONFLICT"]) })
    .post("/:name/disable", ({ params, request }) => {
      const admin = adminOf(request);
      return skills.setEnabled(admin.tenant(params.id), kind, params.name, false, admin);
    }, { params: TenantPackage, response: PackageViewSchema, ...doc(`${ns}.disable`, `Disable a tenant's ${kind}`, ["CONFLICT"]) })
    .delete("/:name", ({ params, request }) => {
      const admin = adminOf(request);
      return skills.remove(admin.tenant(params.id), kind, params.name, admin);
    }, { params: TenantPackage, response: RemovedSchema, ...doc(`${ns}.remove`, `Remove a tenant's ${kind} and its files`, ["CONFLICT", "FORBIDDEN"]) });
}

export function skillsAdminRoutes({ skills }: { skills: SkillsService }) {
  return new Elysia().use(routesFor(skills, "skill")).use(routesFor(skills, "plugin"));
}
