// The audit log: a hash-chained JSONL file and the committed copy of every record in state.db.
import fs from "node:fs";
import path from "node:path";
import { metricsModule } from "../metrics/metrics.module.ts";
import { defineModule } from "../module.ts";
import { auditCli } from "./audit.cli.ts";
import { auditRoutes } from "./audit.routes.ts";
import { createAuditLog } from "./audit.service.ts";

export const auditModule = defineModule({
  name: "audit",
  needs: [metricsModule],
  create(platform, { metrics }) {
    const config = platform.config();
    const file = path.resolve(platform.home, config.audit.path);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const audit = createAuditLog({
      handle: platform.handle,
      file,
      clock: platform.clock,
      log: platform.log,
      replayWindowMs: config.audit.copytruncateReplaySeconds * 1000,
      onCommit: platform.committed,
      onRecord: metrics.auditRecord,
    });
    return { audit };
  },
}).with({
  admin: auditRoutes,
  cli: auditCli,
  tenantData: {
    // Audit records are kept for ever, whatever happens to their tenant, and never leave in a backup.
    tables: [{ table: "audit_events", tenantColumn: "tenant_id", keep: "log" }],
  },
  // Adopts records a crashed writer left uncommitted, before the gateway serves anything.
  start: ({ audit }) => audit.recover(),
});
