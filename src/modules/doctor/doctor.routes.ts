// GET /admin/v1/doctor: `openclaw doctor`'s checks (permissions, database, config, overlays, admin key,
// audit chain, sandboxes, disk) for the console's system page, as the CLI's `--json` gives them.
import { Elysia } from "elysia";
import { routeDoc } from "../../edge/route-doc.ts";
import type { DoctorCheck } from "./doctor.service.ts";

export function doctorRoutes({ doctor }: { doctor: { run: () => Promise<DoctorCheck[]> } }) {
  return new Elysia().get(
    "/doctor",
    async () => {
      const checks = await doctor.run();
      return { ok: checks.every((c) => c.status !== "fail"), checkedAt: new Date().toISOString(), checks };
    },
    routeDoc("doctor")("doctor.run", "Run `openclaw doctor`'s checks: state permissions, database, config, overlays, admin key, audit chain, sandboxes, disk"),
  );
}
