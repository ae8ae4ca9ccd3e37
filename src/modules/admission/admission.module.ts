// The one admission of tenant requests (admission.service.ts), shared by every tenant surface: the
// http layer's RPC transports take it from the core, the protocol-v4 module from its needs.
import { diskModule } from "../disk/disk.module.ts";
import { metricsModule } from "../metrics/metrics.module.ts";
import { defineModule } from "../module.ts";
import { createAdmission } from "./admission.service.ts";

export const admissionModule = defineModule({
  name: "admission",
  needs: [diskModule, metricsModule],
  create: (platform, { disk, metrics }) => ({
    admission: createAdmission({ config: platform.config, clock: platform.clock, assertTenantWritable: (what) => disk.assertTenantWritable(what), refused: metrics.quotaRefusal }),
  }),
});
