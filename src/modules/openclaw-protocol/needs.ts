// The modules whose services the protocol module and its method families use (built before it, in the
// order of src/app/modules.ts). Method families (methods/*.ts) are written against V4Services.
import { admissionModule } from "../admission/admission.module.ts";
import { agentsModule } from "../agents/agents.module.ts";
import { cronModule } from "../cron/cron.module.ts";
import { eventsModule } from "../events/events.module.ts";
import type { ServicesOf } from "../module.ts";
import { modelsModule } from "../models/models.module.ts";
import { overlaysModule } from "../overlays/overlays.module.ts";
import { tenantsModule } from "../tenants/tenants.module.ts";
import { usageModule } from "../usage/usage.module.ts";
import { wsModule } from "../ws/ws.module.ts";

export const V4_NEEDS = [overlaysModule, tenantsModule, eventsModule, wsModule, usageModule, modelsModule, agentsModule, admissionModule, cronModule] as const;

/** What a method family is given: the services of V4_NEEDS. */
export type V4Services = ServicesOf<typeof V4_NEEDS>;
