// Routing LLM traffic: the OpenAI-compatible /v1 surface, metered and admitted against quotas.
import { API_HEADERS } from "../../edge/security-headers.ts";
import { modelsModule } from "../models/models.module.ts";
import { defineModule } from "../module.ts";
import { overlaysModule } from "../overlays/overlays.module.ts";
import { providersModule } from "../providers/providers.module.ts";
import { quotasModule } from "../quotas/quotas.module.ts";
import { tenantsModule } from "../tenants/tenants.module.ts";
import { usageModule } from "../usage/usage.module.ts";
import { chatRoutes } from "./chat.routes.ts";
import { createChatService } from "./chat.service.ts";
import { loadGatewaySecret } from "./gateway-secret.ts";
import { createProviderIdentity } from "./provider-identity.ts";

export const chatModule = defineModule({
  name: "chat",
  needs: [tenantsModule, overlaysModule, modelsModule, providersModule, quotasModule, usageModule],
  create(platform, { tenants, overlays, models, providers, quotaEngine, ledger }) {
    let gatewaySecret: Buffer | undefined;
    const chat = createChatService({
      clock: platform.clock,
      log: platform.log,
      models,
      overlays,
      providers,
      quotas: quotaEngine,
      ledger,
      keepAliveMs: () => platform.config().gateway.limits.streamKeepAliveSeconds * 1000,
      responseHeaders: API_HEADERS,
      // Read (or made) on the first routed request, so CLI commands never create it.
      identity: createProviderIdentity(() => (gatewaySecret ??= loadGatewaySecret(platform.home)), tenants.incarnation),
      startedAt: platform.startedAt,
    });
    return { chat };
  },
}).with({
  routes: chatRoutes,
  tenantData: {
    // Model calls in flight (chat, and every surface on the governed-call core) end with their tenant.
    onStop: ({ chat }, stop) => chat.surface.governed.stop(stop),
  },
});
