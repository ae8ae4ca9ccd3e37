// Control-plane routes for tenants (/admin/v1/tenants…). Authentication is the parent's guard; each
// handler is one call into the tenants service.
import { Elysia, t } from "elysia";
import type { Core } from "../../app/core.ts";
import { AppError } from "../../core/errors.ts";
import { parseDuration } from "../../lib/duration.ts";
import { actorOf } from "../../edge/request-info.ts";
import { QuotaPatchSchema, QuotaViewSchema } from "../quotas/quotas.model.ts";
import { OverlayStatusSchema } from "../overlays/overlay.schema.ts";
import { CreatedTenantSchema, CreateTenantSchema, IssuedTokenSchema, RotateTokenSchema, TenantViewSchema, UpdateTenantSchema } from "./tenants.model.ts";

const Id = t.Object({ id: t.String({ maxLength: 64 }) });
const doc = (operationId: string, summary: string) => ({ detail: { operationId, summary, tags: ["tenants"], security: [{ adminKey: [] }] } });

export function tenantsRoutes(core: Core) {
  return new Elysia({ prefix: "/tenants" })
    .get("", () => ({ tenants: core.tenants.list() }), {
      response: t.Object({ tenants: t.Array(TenantViewSchema) }),
      ...doc("tenants.list", "List tenants"),
    })
    .post(
      "",
      ({ body, request, set }) => {
        set.status = 201;
        return core.tenants.create(body, actorOf(request));
      },
      { body: CreateTenantSchema, response: { 201: CreatedTenantSchema }, ...doc("tenants.create", "Create a tenant; the token is in the response, once") },
    )
    .get("/:id", ({ params }) => ({ ...core.tenants.get(params.id), overlay: core.overlays.status(params.id) }), {
      params: Id,
      response: t.Composite([TenantViewSchema, t.Object({ overlay: OverlayStatusSchema })]),
      ...doc("tenants.get", "Show a tenant, with whether its config overlay is in force (and if not, why)"),
    })
    .patch("/:id", ({ params, body, request }) => core.tenants.update(params.id, body, actorOf(request)), {
      params: Id,
      body: UpdateTenantSchema,
      response: TenantViewSchema,
      ...doc("tenants.update", "Update a tenant's display name"),
    })
    .delete("/:id", ({ params, request }) => core.tenants.remove(params.id, actorOf(request)), {
      params: Id,
      response: t.Object({ tenantId: t.String(), deleted: t.Literal(true) }),
      ...doc("tenants.delete", "Delete a tenant: record, token hashes and directory. Audit records are kept."),
    })
    .post("/:id/suspend", ({ params, request }) => core.tenants.suspend(params.id, actorOf(request)), {
      params: Id,
      response: TenantViewSchema,
      ...doc("tenants.suspend", "Suspend a tenant: its token is refused like any bad token"),
    })
    .post("/:id/resume", ({ params, request }) => core.tenants.resume(params.id, actorOf(request)), {
      params: Id,
      response: TenantViewSchema,
      ...doc("tenants.resume", "Resume a suspended tenant"),
    })
    .post(
      "/:id/token/rotate",
      ({ params, body, request }) => {
        const grace = parseDuration(body?.grace ?? "0");
        if (grace === null) throw new AppError("INVALID_PARAMS", `grace ${JSON.stringify(body?.grace)} is not a duration (e.g. 0, 90s, 15m, 1h, 7d)`);
        return core.tenants.rotateToken(params.id, grace, actorOf(request));
      },
      {
        params: Id,
        body: t.Optional(RotateTokenSchema),
        response: t.Composite([IssuedTokenSchema, t.Object({ graceUntil: t.Union([t.String(), t.Null()]) })]),
        ...doc("tenants.rotateToken", "Rotate a tenant's token; the old one stops at once or after `grace`"),
      },
    )
    .get("/:id/quota", ({ params }) => core.quotaStatus(core.tenants.get(params.id).tenantId), {
      params: Id,
      ...doc("tenants.getQuota", "A tenant's quota limits, today's usage against them and what remains"),
    })
    .patch("/:id/quota", ({ params, body, request }) => core.tenants.setQuota(params.id, body, actorOf(request)), {
      params: Id,
      body: QuotaPatchSchema,
      response: QuotaViewSchema,
      ...doc("tenants.setQuota", 'Set quota fields: a number, null for unlimited, or "default" to inherit'),
    })
    .get(
      "/:id/config",
      ({ params }) => {
        core.tenants.get(params.id);
        // The operator sees the file as it is, valid or not, with the reason it is refused.
        return { config: core.overlays.raw(params.id), overlay: core.overlays.status(params.id) };
      },
      { params: Id, ...doc("tenants.getConfig", "A tenant's config overlay (as on disk, null if it does not parse) and whether it is in force") },
    );
}
