// tenants.quota.status: the calling tenant's limits and what remains of them today.
import { Type as T } from "@sinclair/typebox";
import { defineTenantMethod } from "../../edge/rpc.ts";
import type { QuotasService } from "./quotas.service.ts";

export function quotasRpc({ quotas }: { quotas: QuotasService }) {
  return [
    defineTenantMethod({
      name: "tenants.quota.status",
      summary: "The calling tenant's quota limits, today's usage against them, what remains, and when the daily counters reset.",
      params: {},
      result: T.Object({
        tenantId: T.String(),
        limits: T.Record(T.String(), T.Union([T.Number(), T.Null()])),
        source: T.Record(T.String(), T.String()),
        day: T.Object({ resetsAt: T.String() }),
        usage: T.Record(T.String(), T.Unknown()),
      }),
      mutates: false,
      example: {},
      handler: (tenant) => quotas.status(tenant),
    }),
  ];
}
