// Tenant config overlays: tenants/<id>/openclaw.json, validated against the admin's ceilings.
import { auditModule } from "../audit/audit.module.ts";
import { defineModule } from "../module.ts";
import { configRpc } from "./config.rpc.ts";
import { overlaysRoutes } from "./overlays.routes.ts";
import { createOverlaysService } from "./overlays.service.ts";

export const overlaysModule = defineModule({
  name: "overlays",
  needs: [auditModule],
  create: (platform, { audit }) => ({ overlays: createOverlaysService({ home: platform.home, audit, config: platform.config, log: platform.log }) }),
}).with({
  admin: overlaysRoutes,
  rpc: configRpc,
});
