import { Type as T, type Static } from "@sinclair/typebox";
import { QuotaPatchSchema, QuotaViewSchema, type QuotaView } from "./quota.model.ts";
import type { TenantRow } from "./tenants.sql.ts";

export const CreateTenantSchema = T.Object(
  {
    id: T.String({ minLength: 1, maxLength: 64, description: "1-32 lowercase letters, digits, inner hyphens" }),
    displayName: T.Optional(T.String({ maxLength: 200 })),
    quota: T.Optional(QuotaPatchSchema),
  },
  { additionalProperties: false },
);

export const UpdateTenantSchema = T.Object({ displayName: T.Union([T.String({ maxLength: 200 }), T.Null()]) }, { additionalProperties: false });

export const RotateTokenSchema = T.Object(
  { grace: T.Optional(T.String({ maxLength: 32, description: 'how long the old token keeps working: "0", "90s", "15m", "1h", "7d"' })) },
  { additionalProperties: false },
);

export const TenantViewSchema = T.Object({
  tenantId: T.String(),
  incarnation: T.String({ description: "minted when the tenant was created (or restored under a new id); usage and backups are keyed to it" }),
  displayName: T.Union([T.String(), T.Null()]),
  status: T.Union([T.Literal("active"), T.Literal("suspended")]),
  createdAt: T.String({ format: "date-time" }),
  updatedAt: T.String({ format: "date-time" }),
  suspendedAt: T.Union([T.String({ format: "date-time" }), T.Null()]),
  token: T.Object({
    prefix: T.Union([T.String(), T.Null()]),
    createdAt: T.Union([T.String({ format: "date-time" }), T.Null()]),
    inGrace: T.Array(T.Object({ prefix: T.String(), expiresAt: T.String({ format: "date-time" }) })),
  }),
  quota: QuotaViewSchema,
});
export type TenantView = Static<typeof TenantViewSchema>;

export const IssuedTokenSchema = T.Object({
  tenantId: T.String(),
  token: T.String({ description: "shown once; store it now" }),
  tokenPrefix: T.String(),
});

export const CreatedTenantSchema = T.Object({
  tenantId: T.String(),
  token: T.String({ description: "shown once; store it now" }),
  tokenPrefix: T.String(),
  createdAt: T.String({ format: "date-time" }),
  tenant: TenantViewSchema,
});

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A tenant as the API shows it: its record, its token's prefix (never the token), its quota limits. */
export function tenantView(
  r: TenantRow,
  tok: { current: { displayPrefix: string; createdAt: number } | null; inGrace: { displayPrefix: string; expiresAt: number }[] },
  quota: QuotaView,
): TenantView {
  return {
    tenantId: r.id,
    incarnation: r.incarnation,
    displayName: r.displayName,
    status: r.status,
    createdAt: iso(r.createdAt)!,
    updatedAt: iso(r.updatedAt)!,
    suspendedAt: iso(r.suspendedAt),
    token: {
      prefix: tok.current?.displayPrefix ?? null,
      createdAt: iso(tok.current?.createdAt ?? null),
      inGrace: tok.inGrace.map((g) => ({ prefix: g.displayPrefix, expiresAt: iso(g.expiresAt)! })),
    },
    quota,
  };
}
