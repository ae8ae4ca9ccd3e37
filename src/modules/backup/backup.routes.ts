// Control-plane routes for backups: list, create, delete a tenant's backups; restore.
import { Elysia, t } from "elysia";
import { adminOf } from "../../edge/request-info.ts";
import { routeDoc } from "../../edge/route-doc.ts";
import { BackupViewSchema } from "./backup.model.ts";
import type { BackupService } from "./backup.service.ts";

const doc = routeDoc("backups");

export function backupRoutes({ backups }: { backups: BackupService }) {
  return new Elysia()
    .get("/tenants/:id/backups", ({ params, request }) => ({ backups: backups.list(adminOf(request).tenant(params.id)) }), {
      params: t.Object({ id: t.String({ maxLength: 64 }) }),
      response: t.Object({ backups: t.Array(BackupViewSchema) }),
      ...doc("backups.list", "A tenant's backups, newest first"),
    })
    .post(
      "/tenants/:id/backups",
      async ({ params, body, request, set }) => {
        const admin = adminOf(request);
        const r = await backups.backup(admin.tenant(params.id), body.to ?? null, admin, { origin: "admin", keep: body.keep, overwrite: body.overwrite });
        set.status = 201;
        return r;
      },
      {
        params: t.Object({ id: t.String({ maxLength: 64 }) }),
        body: t.Object(
          {
            to: t.String({ minLength: 1, maxLength: 2048, description: "s3://bucket/ (a key is generated), s3://bucket/<prefix>tenants/<id>/… (under the tenant's prefix), or an absolute file path outside the gateway's home" }),
            keep: t.Optional(t.Integer({ minimum: 1, description: "keep only the newest N backups of this tenant" })),
            overwrite: t.Optional(t.Boolean({ description: "replace an existing file (only one of our backups)" })),
          },
          { additionalProperties: false },
        ),
        response: { 201: t.Composite([BackupViewSchema, t.Object({ skipped: t.Array(t.Object({ path: t.String(), kind: t.String() })), pruned: t.Array(t.String()) })]) },
        ...doc("backups.create", "Back a tenant up to S3 or a file", ["CONFLICT", "CONFIG_INVALID", "UPSTREAM_ERROR", "UNAVAILABLE", "AUDIT_UNAVAILABLE"]),
      },
    )
    .delete("/backups/:backupId", ({ params, request }) => backups.delete(params.backupId, adminOf(request)), {
      params: t.Object({ backupId: t.String({ maxLength: 64 }) }),
      response: t.Object({ backupId: t.String(), deleted: t.Literal(true), location: t.String(), objectDeleted: t.Boolean({ description: "false when the location no longer held this archive and was left alone" }) }),
      ...doc("backups.delete", "Delete a backup (its record, and the stored archive if the location still holds it)", ["UPSTREAM_ERROR", "AUDIT_UNAVAILABLE"]),
    })
    .post(
      "/restore",
      async ({ body, request, set }) => {
        const r = await backups.restore(body.from, adminOf(request), { as: body.as, force: body.force });
        set.status = 201;
        return r;
      },
      {
        body: t.Object(
          {
            from: t.String({ minLength: 1, maxLength: 2048, description: "s3://bucket/key or an absolute file path outside the gateway's home" }),
            as: t.Optional(t.String({ maxLength: 64, description: "restore under this new tenant id, with a new token" })),
            force: t.Optional(t.Boolean({ description: "replace an existing tenant (atomically)" })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: t.Object({
            tenantId: t.String(),
            sourceTenant: t.String(),
            token: t.Union([t.String(), t.Null()], { description: "a new token (shown once) when restored --as, else null: the old token works again" }),
            replaced: t.Boolean(),
            files: t.Integer(),
            archiveSha256: t.String(),
            createdAt: t.String(),
            rows: t.Record(t.String(), t.Integer()),
          }),
        },
        ...doc("backups.restore", "Restore a tenant from S3 or a file (refused, changing nothing, if anything in the archive is wrong)", ["CONFLICT", "CONFIG_INVALID", "UPSTREAM_ERROR", "UNAVAILABLE", "AUDIT_UNAVAILABLE"]),
      },
    );
}
