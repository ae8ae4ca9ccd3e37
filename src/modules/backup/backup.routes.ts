// Control-plane routes for backups: list, create, delete a tenant's backups; restore.
import { Elysia, t } from "elysia";
import type { Core } from "../../app/core.ts";
import { actorOf } from "../../edge/request-info.ts";

const doc = (operationId: string, summary: string) => ({ detail: { operationId, summary, tags: ["backups"], security: [{ adminKey: [] }] } });

export const BackupViewSchema = t.Object({
  backupId: t.String(),
  tenantId: t.String(),
  location: t.String(),
  sizeBytes: t.Integer(),
  sha256: t.String(),
  encrypted: t.Boolean(),
  files: t.Integer(),
  contentBytes: t.Integer(),
  formatVersion: t.Integer(),
  gatewayVersion: t.String(),
  origin: t.String(),
  createdAt: t.String(),
});

export function backupRoutes(core: Core) {
  return new Elysia()
    .get("/tenants/:id/backups", ({ params }) => (core.tenants.get(params.id), { backups: core.backups.list(params.id) }), {
      params: t.Object({ id: t.String({ maxLength: 64 }) }),
      response: t.Object({ backups: t.Array(BackupViewSchema) }),
      ...doc("backups.list", "A tenant's backups, newest first"),
    })
    .post(
      "/tenants/:id/backups",
      async ({ params, body, request, set }) => {
        const r = await core.backups.backup(params.id, body.to ?? null, actorOf(request), { origin: "admin", keep: body.keep, overwrite: body.overwrite });
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
        ...doc("backups.create", "Back a tenant up to S3 or a file"),
      },
    )
    .delete("/backups/:backupId", ({ params, request }) => core.backups.delete(params.backupId, actorOf(request)), {
      params: t.Object({ backupId: t.String({ maxLength: 64 }) }),
      response: t.Object({ backupId: t.String(), deleted: t.Literal(true), location: t.String(), objectDeleted: t.Boolean({ description: "false when the location no longer held this archive and was left alone" }) }),
      ...doc("backups.delete", "Delete a backup (its record, and the stored archive if the location still holds it)"),
    })
    .post(
      "/restore",
      async ({ body, request, set }) => {
        const r = await core.backups.restore(body.from, actorOf(request), { as: body.as, force: body.force });
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
        ...doc("backups.restore", "Restore a tenant from S3 or a file (refused, changing nothing, if anything in the archive is wrong)"),
      },
    );
}
