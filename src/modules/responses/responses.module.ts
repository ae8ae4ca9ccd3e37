// The OpenAI Responses API (/v1/responses): requests governed as chat completions (metered, admitted,
// ledgered by the chat service), and the tenant's stored responses (tenant-local rows with retention).
import { chatModule } from "../chat/chat.module.ts";
import { defineModule } from "../module.ts";
import { modelsModule } from "../models/models.module.ts";
import { createResponsesService } from "./responses.service.ts";
import { responsesRoutes } from "./responses.routes.ts";
import { createResponsesStore } from "./responses.store.ts";
import { createResponsesWriter } from "./responses.writer.ts";
import { tenantsModule } from "../tenants/tenants.module.ts";

const SWEEP_MS = 10 * 60_000;

export const responsesModule = defineModule({
  name: "responses",
  needs: [tenantsModule, modelsModule, chatModule],
  create(platform, { tenants, models, chat }) {
    const writer = createResponsesWriter({ file: platform.handle.file, log: platform.log, onSwept: () => responsesStore.recount() });
    const responsesStore = createResponsesStore({ handle: platform.handle, clock: platform.clock, changes: platform.changes, writer, settings: () => platform.config().responses });
    const responses = createResponsesService({
      clock: platform.clock,
      chat,
      models,
      store: responsesStore,
      keepAliveMs: () => platform.config().gateway.limits.streamKeepAliveSeconds * 1000,
      maxBodyBytes: () => platform.config().gateway.limits.chatBodyBytes,
      incarnationOf: (tenantId) => tenants.incarnation(tenantId),
    });
    return { responses, responsesStore, responsesWriter: writer };
  },
}).with({
  routes: responsesRoutes,
  tenantData: {
    tables: [{ table: "stored_responses", tenantColumn: "tenant_id" }],
    // The rows were replaced or deleted by the restore or delete: the counters are read again.
    onDelete: ({ responsesStore }, tenant) => responsesStore.forget(tenant.tenantId),
    // What is still queued for the worker is in the backup too.
    beforeBackup: ({ responsesWriter }) => responsesWriter.flush(),
    onRestore: ({ responsesStore }, tenant) => responsesStore.forget(tenant.tenantId),
  },
  // Expired responses are never read; the sweep gives their space back.
  start({ responsesStore }) {
    responsesStore.sweep();
    const timer = setInterval(() => responsesStore.sweep(), SWEEP_MS);
    timer.unref?.();
    return { stop: async () => clearInterval(timer) };
  },
  close: ({ responsesWriter }) => responsesWriter.close(),
});
