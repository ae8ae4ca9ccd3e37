// Unauthenticated probes. They reveal nothing about tenants.
import fs from "node:fs";
import path from "node:path";
import { Elysia, t } from "elysia";
import { routeDoc } from "../edge/route-doc.ts";
import type { Core } from "../app/core.ts";
import { tenantsRoot } from "../lib/tenant-dirs.ts";
import { createReserve } from "../modules/disk/disk-reserve.ts";

const Readiness = t.Object({
  status: t.Union([t.Literal("ready"), t.Literal("unavailable")]),
  checks: t.Record(t.String(), t.Boolean(), { description: "each check; any false makes the gateway unavailable (503)" }),
});

/** Below this much free space (or these many inodes) the state's filesystem is taken as unwritable. */
const MIN_STATE_FREE_BYTES = 1024 * 1024;
const MIN_STATE_FREE_INODES = 64;

export function healthRoutes(core: Core, state: { draining: boolean }) {
  const detail = routeDoc("health", { security: [] });
  // The reserve as the disk module defines it (its own functions, so both agree on what "below" is).
  const reserve = createReserve({ home: core.home, config: () => core.config, log: core.log.withTag("health") });
  const stateDirs = () => [core.home, path.dirname(core.audit.file)];

  /**
   * Whether state.db and the audit log can be written: every filesystem holding them has room, and
   * one the tenants' directories share is above the reserve (below it, tenant changes are refused).
   */
  function disk(): { stateDisk: boolean; diskReserve: boolean } {
    let stateDisk = true;
    let diskReserve = true;
    const devs = new Set<number>();
    for (const dir of stateDirs()) {
      try {
        devs.add(fs.statSync(dir).dev);
        const s = fs.statfsSync(dir);
        if (s.bavail * s.bsize < MIN_STATE_FREE_BYTES || s.ffree < MIN_STATE_FREE_INODES) stateDisk = false;
      } catch {
        stateDisk = false;
      }
    }
    try {
      const tenants = tenantsRoot(core.home);
      if (devs.has(fs.statSync(fs.existsSync(tenants) ? tenants : core.home).dev)) diskReserve = !reserve.below(reserve.free());
    } catch {
      diskReserve = false;
    }
    return { stateDisk, diskReserve };
  }

  return new Elysia()
    .get("/healthz", () => ({ status: "ok" as const }), { response: t.Object({ status: t.Literal("ok") }), ...detail("health.live", "Liveness") })
    .get(
      "/readyz",
      ({ set }) => {
        const checks = {
          database: probe(() => core.handle.sqlite.query("SELECT 1").get()),
          auditLog: probe(() => fs.accessSync(fs.existsSync(core.audit.file) ? core.audit.file : path.dirname(core.audit.file), fs.constants.W_OK)),
          ...disk(),
          accepting: !state.draining,
        };
        const ready = checks.database && checks.auditLog && checks.stateDisk && checks.diskReserve && checks.accepting;
        if (!ready) set.status = 503;
        return { status: ready ? ("ready" as const) : ("unavailable" as const), checks };
      },
      {
        response: { 200: Readiness, 503: Readiness },
        ...detail("health.ready", "Readiness: database reachable, audit log and database writable (room on their filesystem, above the disk reserve where tenants share it), not shutting down"),
      },
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
