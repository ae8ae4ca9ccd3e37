// Anthropic's Messages API (/v1/messages, count_tokens): the same governed calls as chat completions
// (quotas, ledger, metering), natively to anthropic-kind providers, translated to openai-kind ones.
// No tenant data of its own: its calls are rows of the usage ledger.
import { chatModule } from "../chat/chat.module.ts";
import { modelsModule } from "../models/models.module.ts";
import { defineModule } from "../module.ts";
import { quotasModule } from "../quotas/quotas.module.ts";
import { messagesRoutes } from "./messages.routes.ts";
import { createMessagesService } from "./messages.service.ts";

export const messagesModule = defineModule({
  name: "messages",
  needs: [chatModule, modelsModule, quotasModule],
  create(_platform, { chat, models, quotaEngine }) {
    return { messages: createMessagesService({ chat, models, quotas: quotaEngine }) };
  },
}).with({
  routes: messagesRoutes,
});
