// Anthropic's Messages API under /v1 (Claude Code, the official SDKs): POST /v1/messages and
// /v1/messages/count_tokens. The edge authenticates the tenant from `x-api-key` or a bearer token and
// renders errors in Anthropic's envelope for these paths (edge/surface.ts: "anthropic").
import { Elysia } from "elysia";
import { requestInfo, tenantOf } from "../../edge/request-info.ts";
import { API_HEADERS } from "../../edge/security-headers.ts";
import { serveModelCall } from "../chat/chat.routes.ts";
import type { QuotaEngine } from "../quotas/quota-engine.ts";
import type { MessagesService } from "./messages.service.ts";

export function messagesRoutes({ messages, quotaEngine }: { messages: MessagesService; quotaEngine: QuotaEngine }) {
  return new Elysia({ prefix: "/v1" })
    .post(
      "/messages",
      ({ request, body, server }) =>
        serveModelCall(request, server, (tenant, requestId) =>
          messages.handle({ tenant, requestId, body, beta: request.headers.get("anthropic-beta"), clientSignal: () => request.signal, requestIdHeader: requestId }),
        ),
      { detail: { hide: true } },
    )
    .post(
      "/messages/count_tokens",
      async ({ request, body }) => {
        const info = requestInfo(request);
        const tenant = tenantOf(request);
        tenant.assertCurrent();
        const out = await messages.countTokens({ tenant, requestId: info.requestId, body, beta: request.headers.get("anthropic-beta") });
        return new Response(JSON.stringify(out), { headers: { ...API_HEADERS, ...quotaEngine.headers(tenant), "x-request-id": info.requestId, "content-type": "application/json; charset=utf-8" } });
      },
      { detail: { hide: true } },
    );
}
