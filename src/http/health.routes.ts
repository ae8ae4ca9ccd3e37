// Unauthenticated probes. They reveal nothing about tenants.
import fs from "node:fs";
import path from "node:path";
import { Elysia, t } from "elysia";
import type { Core } from "../app/core.ts";

export function healthRoutes(core: Core, state: { draining: boolean }) {
  const detail = (operationId: string, summary: string) => ({ detail: { operationId, summary, tags: ["health"], security: [] } });
  return new Elysia()
    .get("/healthz", () => ({ status: "ok" as const }), { response: t.Object({ status: t.Literal("ok") }), ...detail("health.live", "Liveness") })
    .get(
      "/readyz",
      ({ set }) => {
        const checks = {
          database: probe(() => core.handle.sqlite.query("SELECT 1").get()),
          auditLog: probe(() => fs.accessSync(fs.existsSync(core.audit.file) ? core.audit.file : path.dirname(core.audit.file), fs.constants.W_OK)),
          accepting: !state.draining,
        };
        const ready = checks.database && checks.auditLog && checks.accepting;
        if (!ready) set.status = 503;
        return { status: ready ? ("ready" as const) : ("unavailable" as const), checks };
      },
      detail("health.ready", "Readiness: database reachable, audit log writable, not shutting down"),
    );
}

function probe(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}
