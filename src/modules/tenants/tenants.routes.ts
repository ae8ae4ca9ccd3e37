// Control-plane routes for tenants (/admin/v1/tenants…). Authentication is the edge's; each handler
// names its tenant through the admin's context (NOT_FOUND for an unknown id) and makes one call into
// the tenants service.
import { Elysia, t } from "elysia";
import { adminOf } from "../../edge/request-info.ts";
import { routeDoc } from "../../edge/route-doc.ts";
import { OverlayStatusSchema } from "../overlays/overlay.schema.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import { parseGrace } from "./grace.ts";
import { CreatedTenantSchema, CreateTenantSchema, IssuedTokenSchema, RotateTokenSchema, TenantViewSchema, UpdateTenantSchema } from "./tenants.model.ts";
import type { TenantsService } from "./tenants.service.ts";

const Id = t.Object({ id: t.String({ maxLength: 64 }) });
const doc = routeDoc("tenants");

export function tenantsRoutes({ tenants, overlays }: { tenants: TenantsService; overlays: OverlaysService }) {
  return new Elysia({ prefix: "/tenants" })
    .get("", () => ({ tenants: tenants.list() }), {
      response: t.Object({ tenants: t.Array(TenantViewSchema) }),
      ...doc("tenants.list", "List tenants"),
    })
    .post(
      "",
      ({ body, request, set }) => {
        set.status = 201;
        return tenants.create(body, adminOf(request));
      },
      { body: CreateTenantSchema, response: { 201: CreatedTenantSchema }, ...doc("tenants.create", "Create a tenant; the token is in the response, once", ["CONFLICT", "AUDIT_UNAVAILABLE"]) },
    )
    .get(
      "/:id",
      ({ params, request }) => {
        const tenant = adminOf(request).tenant(params.id);
        return { ...tenants.get(tenant), overlay: overlays.status(tenant) };
      },
      {
        params: Id,
        response: t.Composite([TenantViewSchema, t.Object({ overlay: OverlayStatusSchema })]),
        ...doc("tenants.get", "Show a tenant, with whether its config overlay is in force (and if not, why)"),
      },
    )
    .patch(
      "/:id",
      ({ params, body, request }) => {
        const admin = adminOf(request);
        return tenants.update(admin.tenant(params.id), body, admin);
      },
      { params: Id, body: UpdateTenantSchema, response: TenantViewSchema, ...doc("tenants.update", "Update a tenant's display name") },
    )
    .delete(
      "/:id",
      ({ params, request }) => {
        const admin = adminOf(request);
        return tenants.remove(admin.tenant(params.id), admin);
      },
      {
        params: Id,
        response: t.Object({ tenantId: t.String(), deleted: t.Literal(true) }),
        ...doc("tenants.delete", "Delete a tenant: record, token hashes and directory. Audit records are kept."),
      },
    )
    .post(
      "/:id/suspend",
      ({ params, request }) => {
        const admin = adminOf(request);
        return tenants.suspend(admin.tenant(params.id), admin);
      },
      { params: Id, response: TenantViewSchema, ...doc("tenants.suspend", "Suspend a tenant: its token is refused like any bad token") },
    )
    .post(
      "/:id/resume",
      ({ params, request }) => {
        const admin = adminOf(request);
        return tenants.resume(admin.tenant(params.id), admin);
      },
      { params: Id, response: TenantViewSchema, ...doc("tenants.resume", "Resume a suspended tenant") },
    )
    .post(
      "/:id/token/rotate",
      ({ params, body, request }) => {
        const grace = parseGrace(body?.grace);
        const admin = adminOf(request);
        return tenants.rotateToken(admin.tenant(params.id), grace, admin);
      },
      {
        params: Id,
        body: t.Optional(RotateTokenSchema),
        response: t.Composite([IssuedTokenSchema, t.Object({ graceUntil: t.Union([t.String(), t.Null()]) })]),
        ...doc("tenants.rotateToken", "Rotate a tenant's token; the old one stops at once or after `grace`"),
      },
    );
}
