// Per-tenant disk limits and the gateway's disk reserve: every writer of a tenant's directory (files,
// sandbox runs, restores) goes through it.
import path from "node:path";
import { auditModule } from "../audit/audit.module.ts";
import { defineModule } from "../module.ts";
import { overlaysModule } from "../overlays/overlays.module.ts";
import { createDiskGuard } from "./disk.service.ts";

export const diskModule = defineModule({
  name: "disk",
  needs: [auditModule, overlaysModule],
  create: (platform, { audit, overlays }) => ({
    disk: createDiskGuard({ home: platform.home, config: platform.config, overlays, log: platform.log, stateFiles: [platform.home, path.dirname(audit.file)] }),
  }),
}).with({
  tenantData: {
    // A deleted or restored tenant's directory is another: what was measured of it is forgotten.
    onDelete: ({ disk }, tenant) => disk.forget(tenant),
    onRestore: ({ disk }, tenant) => disk.forget(tenant),
  },
  close: ({ disk }) => disk.close(),
});
