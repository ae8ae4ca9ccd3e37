// Tenant-facing config methods: they only ever read or write the caller's own overlay, and a write is
// validated exactly like a load (admin-only keys, unknown keys, ceilings, paths) before anything lands.
import { Type as T } from "@sinclair/typebox";
import { defineMethod } from "../rpc/registry.ts";
import { opContext, selfOnly } from "../rpc/tenant-scope.ts";
import { SelfTenantId } from "../tenants/tenants.rpc.ts";
import { overlayJsonSchema } from "./overlay.schema.ts";
import { overlayLabel } from "./overlays.service.ts";

const strict = { additionalProperties: false } as const;
const OverlayResult = T.Object({ file: T.String(), config: T.Record(T.String(), T.Unknown()) });

export const configRpc = [
  defineMethod({
    name: "config.get",
    summary: "The calling tenant's config overlay.",
    params: T.Object({ tenantId: SelfTenantId }, strict),
    result: OverlayResult,
    tenantScoped: true,
    mutates: false,
    example: {},
    handler: (ctx, p) => {
      const id = selfOnly(ctx, p.tenantId, "config.get");
      return { file: overlayLabel(id), config: ctx.core.overlays.load(id) };
    },
  }),
  defineMethod({
    name: "config.set",
    summary: "Replaces the calling tenant's overlay. Refused, writing nothing, if it sets an admin-only or unknown key or a path outside the tenant.",
    params: T.Object({ tenantId: SelfTenantId, config: T.Record(T.String(), T.Unknown()) }, strict),
    result: OverlayResult,
    tenantScoped: true,
    mutates: true,
    audited: true,
    example: { config: { agent: { maxTokens: 1024 } } },
    handler: (ctx, p) => {
      const id = selfOnly(ctx, p.tenantId, "config.set");
      return { file: overlayLabel(id), config: ctx.core.overlays.set(id, p.config, opContext(ctx)) };
    },
  }),
  defineMethod({
    name: "config.patch",
    summary: "Applies an RFC 7396 merge patch to the calling tenant's overlay, validated like config.set.",
    params: T.Object({ tenantId: SelfTenantId, patch: T.Record(T.String(), T.Unknown()) }, strict),
    result: OverlayResult,
    tenantScoped: true,
    mutates: true,
    audited: true,
    example: { patch: { agent: { systemPrompt: "Be brief." } } },
    handler: (ctx, p) => {
      const id = selfOnly(ctx, p.tenantId, "config.patch");
      return { file: overlayLabel(id), config: ctx.core.overlays.patch(id, p.patch, opContext(ctx)) };
    },
  }),
  defineMethod({
    name: "config.schema",
    summary: "JSON Schema of the tenant overlay: the keys a tenant may set.",
    params: T.Object({}, strict),
    result: T.Record(T.String(), T.Unknown()),
    tenantScoped: false,
    mutates: false,
    example: {},
    handler: () => overlayJsonSchema(),
  }),
];
