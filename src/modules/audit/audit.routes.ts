// GET /admin/v1/audit: committed audit records, newest first, filtered; page with beforeSeq.
// GET /admin/v1/audit/verify: `audit verify` (the live log and its rotated files against state.db).
import path from "node:path";
import { Elysia, t } from "elysia";
import { routeDoc } from "../../edge/route-doc.ts";
import { AppError } from "../../core/errors.ts";
import type { AuditLog } from "./audit.service.ts";
import { discoverLogFiles, verifyAuditFiles } from "./audit.verify.ts";

const parseTime = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined) return undefined;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new AppError("INVALID_PARAMS", `${name} must be an ISO-8601 date or time`);
  return ms;
};

export function auditRoutes({ audit }: { audit: AuditLog }) {
  return new Elysia()
    .get(
      "/audit/verify",
      () => {
        // What `openclaw audit verify` reports, for the console. It reads the files in this thread (so no
        // record is appended half-way through); on a very large log other requests wait while it runs,
        // which the operator chooses by asking.
        const files = discoverLogFiles(audit.file);
        const checkedAt = new Date().toISOString();
        if (files.length === 0) return { ok: true, checkedAt, records: 0, files: [], firstSeq: null, lastSeq: null, lastHash: null, warnings: ["no audit log written yet"] };
        const r = verifyAuditFiles(files, { anchor: audit, liveFile: audit.file });
        const name = (f: string) => path.basename(f);
        return { ...r, checkedAt, files: r.files.map(name), problem: r.problem ? { ...r.problem, file: name(r.problem.file) } : undefined };
      },
      routeDoc("audit")("audit.verify", "Verify the audit log's hash chain (the live log and its rotated files) against state.db, as `openclaw audit verify`"),
    )
    .get(
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
