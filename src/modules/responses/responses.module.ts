// The OpenAI Responses API (/v1/responses): requests governed as chat completions (metered, admitted,
// ledgered by the chat service), and the tenant's stored responses (tenant-local rows with retention).
import { chatModule } from "../chat/chat.module.ts";
import { defineModule } from "../module.ts";
import { modelsModule } from "../models/models.module.ts";
import { createResponsesService } from "./responses.service.ts";
import { responsesRoutes } from "./responses.routes.ts";
import { createResponsesStore } from "./responses.store.ts";

const SWEEP_MS = 10 * 60_000;

export const responsesModule = defineModule({
  name: "responses",
  needs: [modelsModule, chatModule],
  create(platform, { models, chat }) {
    const responsesStore = createResponsesStore({ sqlite: platform.handle.sqlite, clock: platform.clock, settings: () => platform.config().responses });
    const responses = createResponsesService({
      clock: platform.clock,
      chat,
      models,
      store: responsesStore,
      keepAliveMs: () => platform.config().gateway.limits.streamKeepAliveSeconds * 1000,
      maxBodyBytes: () => platform.config().gateway.limits.chatBodyBytes,
    });
    return { responses, responsesStore };
  },
}).with({
  routes: responsesRoutes,
  tenantData: {
    tables: [{ table: "stored_responses", tenantColumn: "tenant_id" }],
  },
  // Expired responses are never read; the sweep gives their space back.
  start({ responsesStore }) {
    responsesStore.sweep();
    const timer = setInterval(() => responsesStore.sweep(), SWEEP_MS);
    timer.unref?.();
    return { stop: async () => clearInterval(timer) };
  },
});
