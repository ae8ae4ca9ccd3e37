// Tenant-facing RPC methods of the tenants module: a tenant reads itself and rotates its own token.
import { Type as T } from "@sinclair/typebox";
import { defineTenantMethod } from "../../edge/rpc.ts";
import { parseGrace } from "./grace.ts";
import { TenantViewSchema } from "./tenants.model.ts";
import type { TenantsService } from "./tenants.service.ts";

export function tenantsRpc({ tenants }: { tenants: TenantsService }) {
  return [
    defineTenantMethod({
      name: "tenants.get",
      summary: "The calling tenant: status, token prefix, quota limits.",
      params: {},
      result: TenantViewSchema,
      mutates: false,
      example: {},
      handler: (tenant) => tenants.get(tenant),
    }),
    defineTenantMethod({
      name: "tenants.rotate",
      summary: "Rotates the calling tenant's token; the new token is returned once. The old one stops working now, or after `grace`.",
      params: { grace: T.Optional(T.String({ maxLength: 32, description: '"0" (default), "90s", "15m", "1h", up to "30d"' })) },
      result: T.Object({ tenantId: T.String(), token: T.String(), tokenPrefix: T.String(), graceUntil: T.Union([T.String(), T.Null()]) }),
      mutates: true,
      audited: true,
      returnsSecret: true,
      example: { grace: "0" },
      handler: (tenant, p, ctx) => {
        const rotated = tenants.rotateToken(tenant, parseGrace(p.grace), ctx.op);
        // This request now holds the new token: the rest of its batch goes on as that token's holder.
        tenant.adopt(rotated.token);
        return rotated;
      },
    }),
  ];
}
