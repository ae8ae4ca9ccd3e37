// The model catalogue: public model names → provider, upstream model and rates, narrowed per tenant.
import { defineModule } from "../module.ts";
import { overlaysModule } from "../overlays/overlays.module.ts";
import { createModelsService } from "./models.service.ts";

export const modelsModule = defineModule({
  name: "models",
  needs: [overlaysModule],
  create: (platform, { overlays }) => ({ models: createModelsService({ config: platform.config, overlays }) }),
});
