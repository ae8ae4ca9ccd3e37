// GET /admin/v1/audit: committed audit records, newest first, filtered; page with beforeSeq.
import { Elysia, t } from "elysia";
import { routeDoc } from "../../edge/route-doc.ts";
import { AppError } from "../../core/errors.ts";
import type { AuditLog } from "./audit.service.ts";

const parseTime = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined) return undefined;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new AppError("INVALID_PARAMS", `${name} must be an ISO-8601 date or time`);
  return ms;
};

export function auditRoutes({ audit }: { audit: AuditLog }) {
  return new Elysia().get(
    "/audit",
    ({ query }) => {
      const limit = query.limit ?? 100;
      const records = audit.query({
        tenant: query.tenant,
        action: query.action,
        actorKind: query.actorKind,
        outcome: query.outcome,
        since: parseTime(query.since, "since"),
        until: parseTime(query.until, "until"),
        beforeSeq: query.beforeSeq,
        limit,
      });
      const last = records[records.length - 1];
      return { records, nextBeforeSeq: records.length === limit && last ? last.seq : null };
    },
    {
      query: t.Object({
        tenant: t.Optional(t.String({ maxLength: 64 })),
        action: t.Optional(t.String({ maxLength: 64 })),
        actorKind: t.Optional(t.Union([t.Literal("admin"), t.Literal("tenant"), t.Literal("operator"), t.Literal("system")])),
        outcome: t.Optional(t.Union([t.Literal("ok"), t.Literal("denied"), t.Literal("error")])),
        since: t.Optional(t.String({ maxLength: 40 })),
        until: t.Optional(t.String({ maxLength: 40 })),
        beforeSeq: t.Optional(t.Numeric({ minimum: 1 })),
        limit: t.Optional(t.Numeric({ minimum: 1, maximum: 1000 })),
      }),
      ...routeDoc("audit")("audit.query", "Query the audit log (newest first)"),
    },
  );
}
