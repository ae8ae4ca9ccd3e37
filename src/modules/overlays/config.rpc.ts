// Tenant-facing config methods: they only ever read or write the caller's own overlay, and a write is
// validated exactly like a load (admin-only keys, unknown keys, ceilings, paths) before anything lands.
import { Type as T } from "@sinclair/typebox";
import { defineMethod, defineTenantMethod } from "../../edge/rpc.ts";
import { overlayJsonSchema } from "./overlay.schema.ts";
import { overlayLabel, type OverlaysService } from "./overlays.service.ts";

const OverlayResult = T.Object({ file: T.String(), config: T.Record(T.String(), T.Unknown()) });

export function configRpc({ overlays }: { overlays: OverlaysService }) {
  return [
    defineTenantMethod({
      name: "config.get",
      summary: "The calling tenant's config overlay.",
      params: {},
      result: OverlayResult,
      mutates: false,
      example: {},
      handler: (tenant) => ({ file: overlayLabel(tenant.tenantId), config: overlays.load(tenant) }),
    }),
    defineTenantMethod({
      name: "config.set",
      summary: "Replaces the calling tenant's overlay. Refused, writing nothing, if it sets an admin-only or unknown key or a path outside the tenant.",
      params: { config: T.Record(T.String(), T.Unknown()) },
      result: OverlayResult,
      mutates: true,
      audited: true,
      example: { config: { agent: { maxTokens: 1024 } } },
      handler: (tenant, p, ctx) => ({ file: overlayLabel(tenant.tenantId), config: overlays.set(tenant, p.config, ctx.op) }),
    }),
    defineTenantMethod({
      name: "config.patch",
      summary: "Applies an RFC 7396 merge patch to the calling tenant's overlay, validated like config.set.",
      params: { patch: T.Record(T.String(), T.Unknown()) },
      result: OverlayResult,
      mutates: true,
      audited: true,
      example: { patch: { agent: { systemPrompt: "Be brief." } } },
      handler: (tenant, p, ctx) => ({ file: overlayLabel(tenant.tenantId), config: overlays.patch(tenant, p.patch, ctx.op) }),
    }),
    defineMethod({
      name: "config.schema",
      summary: "JSON Schema of the tenant overlay: the keys a tenant may set.",
      params: T.Object({}, { additionalProperties: false }),
      result: T.Record(T.String(), T.Unknown()),
      tenantScoped: false,
      mutates: false,
      example: {},
      handler: () => overlayJsonSchema(),
    }),
  ];
}
