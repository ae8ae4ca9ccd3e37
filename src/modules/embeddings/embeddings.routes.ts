// POST /v1/embeddings. The tenant was authenticated at the edge; errors use OpenAI's envelope.
import { Elysia } from "elysia";
import { serveModelCall } from "../chat/chat.routes.ts";
import type { EmbeddingsService } from "./embeddings.service.ts";

export function embeddingsRoutes({ embeddings }: { embeddings: EmbeddingsService }) {
  return new Elysia({ prefix: "/v1" }).post(
    "/embeddings",
    ({ request, body, server }) => serveModelCall(request, server, (tenant, requestId) => embeddings.create({ tenant, requestId, body, requestIdHeader: requestId })),
    { detail: { hide: true } },
  );
}
