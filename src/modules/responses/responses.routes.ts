// The Responses API routes (/v1): create, retrieve, delete, input_items. The tenant was authenticated
// at the edge; errors use OpenAI's envelope. Every read names the calling tenant's store only.
import { Elysia } from "elysia";
import { API_HEADERS } from "../../edge/security-headers.ts";
import { requestInfo, tenantOf } from "../../edge/request-info.ts";
import { serveModelCall } from "../chat/chat.routes.ts";
import type { ResponsesService } from "./responses.service.ts";

const JSON_HEADERS = { ...API_HEADERS, "content-type": "application/json; charset=utf-8" };

export function responsesRoutes({ responses }: { responses: ResponsesService }) {
  const json = (request: Request, v: unknown) => new Response(JSON.stringify(v), { headers: { ...JSON_HEADERS, "x-request-id": requestInfo(request).requestId } });
  return new Elysia({ prefix: "/v1" })
    .post(
      "/responses",
      ({ request, body, server }) =>
        serveModelCall(request, server, (tenant, requestId) => responses.create({ tenant, requestId, body, clientSignal: () => request.signal, requestIdHeader: requestId })),
      { detail: { hide: true } },
    )
    .get("/responses/:id", ({ request, params }) => json(request, responses.get(tenantOf(request), params.id)), { detail: { hide: true } })
    .delete("/responses/:id", ({ request, params }) => json(request, responses.delete(tenantOf(request), params.id)), { detail: { hide: true } })
    .get(
      "/responses/:id/input_items",
      ({ request, params, query }) => json(request, responses.inputItems(tenantOf(request), params.id, query as Record<string, string>)),
      { detail: { hide: true } },
    );
}
