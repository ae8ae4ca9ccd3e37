// GET /admin/v1/tenants/{id}/config: a tenant's overlay as the operator sees it.
import { Elysia, t } from "elysia";
import { routeDoc } from "../../edge/route-doc.ts";
import { adminOf } from "../../edge/request-info.ts";
import type { OverlaysService } from "./overlays.service.ts";

export function overlaysRoutes({ overlays }: { overlays: OverlaysService }) {
  return new Elysia().get(
    "/tenants/:id/config",
    ({ params, request }) => {
      const tenant = adminOf(request).tenant(params.id);
      // The operator sees the file as it is, valid or not, with the reason it is refused.
      return { config: overlays.raw(tenant), overlay: overlays.status(tenant) };
    },
    {
      params: t.Object({ id: t.String({ maxLength: 64 }) }),
      ...routeDoc("tenants")("tenants.getConfig", "A tenant's config overlay (as on disk, null if it does not parse) and whether it is in force"),
    },
  );
}
