// Control-plane channel routes (/admin/v1/tenants/:id/channels…): the operator sees, pairs and
// unpairs a tenant's channels. Authentication is the edge's; each handler names its tenant through
// the admin's context (NOT_FOUND for an unknown tenant) and makes one call into the channels service,
// which audits the changes under the admin as actor.
import { Elysia, t } from "elysia";
import { Type as T } from "@sinclair/typebox";
import { adminOf } from "../../edge/request-info.ts";
import { routeDoc } from "../../edge/route-doc.ts";
import { ListSchema, PairFields, PairResultSchema, StatusSchema, UnpairResultSchema } from "./channels.model.ts";
import type { ChannelsApi, PairInput } from "./channels.types.ts";

const Tenant = t.Object({ id: t.String({ maxLength: 64 }) });
const TenantChannel = t.Object({ id: t.String({ maxLength: 64 }), channelId: t.String({ maxLength: 64 }) });
const doc = routeDoc("channels");

export function channelsAdminRoutes({ channels }: { channels: ChannelsApi }) {
  return new Elysia({ prefix: "/tenants/:id/channels" })
    .get("", ({ params, request }) => channels.list(adminOf(request).tenant(params.id)), {
      params: Tenant,
      response: ListSchema,
      ...doc("channels.list", "A tenant's channels (credentials masked)"),
    })
    .post(
      "",
      async ({ params, body, request, set }) => {
        const admin = adminOf(request);
        const r = await channels.pair(admin.tenant(params.id), body as PairInput, admin);
        set.status = 201;
        return r;
      },
      { params: Tenant, body: T.Object(PairFields, { additionalProperties: false }), response: { 201: PairResultSchema }, ...doc("channels.pair", "Pair a channel for a tenant (a generated webhook secret is in the response, once)", ["CONFIG_INVALID", "FORBIDDEN", "QUOTA_EXCEEDED", "UPSTREAM_ERROR"]) },
    )
    .get("/:channelId/status", ({ params, request }) => channels.status(adminOf(request).tenant(params.id), params.channelId), {
      params: TenantChannel,
      response: StatusSchema,
      ...doc("channels.status", "A tenant channel's counters, queue, last error and senders awaiting approval"),
    })
    .delete(
      "/:channelId",
      ({ params, request }) => {
        const admin = adminOf(request);
        return channels.unpair(admin.tenant(params.id), params.channelId, admin);
      },
      { params: TenantChannel, response: UnpairResultSchema, ...doc("channels.unpair", "Unpair a tenant's channel") },
    );
}
