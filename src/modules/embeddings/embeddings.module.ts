// Embeddings (/v1/embeddings): metered by input tokens against the rate card and the quotas, through
// the governed-call core of the chat module.
import { chatModule } from "../chat/chat.module.ts";
import { loadGatewaySecret } from "../chat/gateway-secret.ts";
import { createProviderIdentity } from "../chat/provider-identity.ts";
import { defineModule } from "../module.ts";
import { modelsModule } from "../models/models.module.ts";
import { tenantsModule } from "../tenants/tenants.module.ts";
import { embeddingsRoutes } from "./embeddings.routes.ts";
import { createEmbeddingsService } from "./embeddings.service.ts";

export const embeddingsModule = defineModule({
  name: "embeddings",
  needs: [tenantsModule, modelsModule, chatModule],
  create(platform, { tenants, models, chat }) {
    let gatewaySecret: Buffer | undefined;
    // The same opaque ids chat completions send (an HMAC under the one gateway secret), read on first use.
    const identity = createProviderIdentity(() => (gatewaySecret ??= loadGatewaySecret(platform.home)), tenants.incarnation);
    return { embeddings: createEmbeddingsService({ chat, models, identity }) };
  },
}).with({
  routes: embeddingsRoutes,
});
