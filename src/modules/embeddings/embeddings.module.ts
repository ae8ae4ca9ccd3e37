// Embeddings (/v1/embeddings): metered by input tokens against the rate card and the quotas, through
// the governed-call core of the chat module.
import { chatModule } from "../chat/chat.module.ts";
import { defineModule } from "../module.ts";
import { modelsModule } from "../models/models.module.ts";
import { embeddingsRoutes } from "./embeddings.routes.ts";
import { createEmbeddingsService } from "./embeddings.service.ts";

export const embeddingsModule = defineModule({
  name: "embeddings",
  needs: [modelsModule, chatModule],
  create(_platform, { models, chat }) {
    return { embeddings: createEmbeddingsService({ chat, models }) };
  },
}).with({
  routes: embeddingsRoutes,
});
