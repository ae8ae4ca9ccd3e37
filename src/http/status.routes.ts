// GET /admin/v1/status: what an operator checks first.
import { Elysia } from "elysia";
import { routeDoc } from "../edge/route-doc.ts";
import type { Core } from "../app/core.ts";

export function statusRoutes(core: Core) {
  return new Elysia().get(
    "/status",
    () => {
      const tenants = core.tenants.list();
      const head = core.audit.head();
      const refused = core.overlays.checkAll(tenants.map((x) => x.tenantId)).map((x) => ({ tenantId: x.tenantId, reason: x.message }));
      return {
        status: "ok" as const,
        version: core.version,
        startedAt: new Date(core.startedAt).toISOString(),
        uptimeSeconds: Math.floor((core.clock.now() - core.startedAt) / 1000),
        tenants: {
          total: tenants.length,
          active: tenants.filter((x) => x.status === "active").length,
          suspended: tenants.filter((x) => x.status === "suspended").length,
          // Tenants whose config overlay is refused (and why): their overlay-dependent calls are refused.
          overlaysRefused: refused,
        },
        database: { schemaVersion: core.handle.schemaVersion },
        audit: { file: core.audit.file, seq: head.seq, head: head.hash.slice(0, 12) },
      };
    },
    routeDoc("status")("status.get", "Gateway status"),
  );
}
