import { Type as T, type Static } from "@sinclair/typebox";

// A quota field in requests: a number sets it, null means unlimited, "default" inherits the gateway
// default from quotas.defaults.
const Count = T.Union([T.Integer({ minimum: 0 }), T.Null(), T.Literal("default")]);
const Usd = T.Union([T.Number({ minimum: 0, maximum: 1_000_000_000 }), T.Null(), T.Literal("default")]);

export const QuotaPatchSchema = T.Object(
  {
    tokensPerDay: T.Optional(Count),
    costPerDayUsd: T.Optional(Usd),
    requestsPerMinute: T.Optional(Count),
    maxConcurrent: T.Optional(Count),
  },
  { additionalProperties: false, $id: "QuotaPatch" },
);
export type QuotaPatch = Static<typeof QuotaPatchSchema>;

const Limit = T.Union([T.Number(), T.Null()], { description: "null = unlimited" });
export const QuotaLimitsSchema = T.Object({
  tokensPerDay: Limit,
  costPerDayUsd: Limit,
  requestsPerMinute: Limit,
  maxConcurrent: Limit,
});
export type QuotaLimits = Static<typeof QuotaLimitsSchema>;

export const QuotaViewSchema = T.Object({
  limits: QuotaLimitsSchema,
  source: T.Record(T.String(), T.Union([T.Literal("tenant"), T.Literal("default")])),
});
export type QuotaView = Static<typeof QuotaViewSchema>;

export const QUOTA_FIELDS = ["tokensPerDay", "costPerDayUsd", "requestsPerMinute", "maxConcurrent"] as const;
export type QuotaField = (typeof QUOTA_FIELDS)[number];
