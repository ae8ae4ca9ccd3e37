// Tenant-facing usage methods: a tenant sees only its own usage.
import { Type as T } from "@sinclair/typebox";
import { defineTenantMethod } from "../../edge/rpc.ts";
import type { SandboxService } from "../sandbox/sandbox.service.ts";
import type { UsageService } from "./usage.service.ts";

const Day = T.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}$", description: "UTC date, YYYY-MM-DD" });

export function usageRpc({ usage, sandbox }: { usage: UsageService; sandbox: SandboxService }) {
  return [
    defineTenantMethod({
      name: "tenants.usage",
      summary: "The calling tenant's usage and cost: today, this month, and this month per model; sandbox runs and seconds.",
      params: {},
      result: T.Record(T.String(), T.Unknown()),
      mutates: false,
      example: {},
      handler: (tenant) => ({ ...usage.summary(tenant), sandbox: sandbox.usage(tenant) }),
    }),
    defineTenantMethod({
      name: "tenants.usage.history",
      summary: "The calling tenant's usage per UTC day and model, from..to inclusive (default: the last 30 days).",
      params: { from: T.Optional(Day), to: T.Optional(Day) },
      result: T.Object({ days: T.Array(T.Record(T.String(), T.Unknown())) }),
      mutates: false,
      example: {},
      handler: (tenant, p) => ({ days: usage.history({ tenant, from: p.from, to: p.to }) }),
    }),
  ];
}
