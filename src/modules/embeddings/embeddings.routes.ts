// POST /v1/embeddings. The tenant was authenticated at the edge; errors use OpenAI's envelope.
import { Elysia } from "elysia";
import { requestInfo, tenantOf } from "../../edge/request-info.ts";
import type { EmbeddingsService } from "./embeddings.service.ts";

export function embeddingsRoutes({ embeddings }: { embeddings: EmbeddingsService }) {
  return new Elysia({ prefix: "/v1" }).post(
    "/embeddings",
    async ({ request, body }) => {
      const info = requestInfo(request);
      const tenant = tenantOf(request);
      // The body may have taken a while to arrive: the identity must still be the one admitted.
      tenant.assertCurrent();
      return embeddings.create({ tenant, requestId: info.requestId, body, requestIdHeader: info.requestId });
    },
    { detail: { hide: true } },
  );
}
