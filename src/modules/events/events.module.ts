// Events: the per-tenant bus that live connections (WebSockets) listen to and features publish on.
import { defineModule } from "../module.ts";
import { tenantsModule } from "../tenants/tenants.module.ts";
import { createEventsService } from "./events.service.ts";

export const eventsModule = defineModule({
  name: "events",
  needs: [tenantsModule],
  create(platform, { tenants }) {
    return { events: createEventsService({ incarnationOf: tenants.incarnation, log: platform.log }) };
  },
}).with({
  tenantData: {
    // A suspended, deleted or replaced incarnation hears nothing more; a revoked token's connections
    // are closed by the module that holds them (others of the tenant keep listening).
    onStop(svc, stop) {
      if (stop.reason !== "token-revoked") svc.events.drop(stop.tenantId, stop.incarnation);
      return null;
    },
  },
});
