// OpenAI-compatible routes (/v1): chat completions and the calling tenant's model list. The tenant
// was authenticated at the edge; errors use OpenAI's envelope so OpenAI SDKs surface them.
import { Elysia } from "elysia";
import { AppError } from "../../core/errors.ts";
import { requestInfo, tenantOf } from "../../edge/request-info.ts";
import type { TenantIdentity } from "../../edge/tenant-scope.ts";
import type { ModelsService } from "../models/models.service.ts";
import { ClientGone } from "../providers/provider.ts";
import type { QuotaEngine } from "../quotas/quota-engine.ts";
import type { ChatService } from "./chat.service.ts";

/**
 * Serves one routed model call (any LLM surface): the identity re-checked once the body has arrived,
 * streams exempt from the idle timeout (they send their own keep-alives), 499 for a client gone.
 */
export async function serveModelCall(
  request: Request,
  server: { timeout(request: Request, seconds: number): void } | null | undefined,
  call: (tenant: TenantIdentity, requestId: string) => Promise<Response>,
): Promise<Response> {
  const info = requestInfo(request);
  const tenant = tenantOf(request);
  // The body may have taken a while to arrive: the identity must still be the one admitted.
  tenant.assertCurrent();
  try {
    const res = await call(tenant, info.requestId);
    if (res.headers.get("content-type")?.startsWith("text/event-stream")) server?.timeout(request, 0);
    return res;
  } catch (err) {
    if (err instanceof ClientGone) return new Response(null, { status: 499 });
    throw err;
  }
}

function modelObject(id: string, created: number) {
  return { id, object: "model", created, owned_by: "openclaw" };
}

export function chatRoutes({ chat, models, quotaEngine }: { chat: ChatService; models: ModelsService; quotaEngine: QuotaEngine }) {
  const created = Math.floor(chat.startedAt / 1000);
  return new Elysia({ prefix: "/v1" })
    .post(
      "/chat/completions",
      ({ request, body, server }) =>
        serveModelCall(request, server, (tenant, requestId) => {
          const agents = chat.agents;
          const model = body && typeof body === "object" ? (body as { model?: unknown }).model : undefined;
          const handle = agents?.claims(model) ? (c: Parameters<typeof chat.handle>[0]) => agents.handle({ ...c, sessionKeyHeader: request.headers.get("x-openclaw-session-key") }) : chat.handle;
          return handle({ tenant, requestId, body, clientSignal: () => request.signal, requestIdHeader: requestId });
        }),
      { detail: { hide: true } },
    )
    .get(
      "/models",
      ({ request, set }) => {
        const tenant = tenantOf(request);
        Object.assign(set.headers, quotaEngine.headers(tenant));
        return { object: "list", data: [...models.listFor(tenant), ...(chat.agents?.models(tenant) ?? [])].map((id) => modelObject(id, created)) };
      },
      { detail: { hide: true } },
    )
    .get(
      "/models/*",
      ({ request, params, set }) => {
        const id = decodeURIComponent((params as { "*": string })["*"]);
        const tenant = tenantOf(request);
        Object.assign(set.headers, quotaEngine.headers(tenant));
        if (!models.listFor(tenant).includes(id) && !(chat.agents?.models(tenant) ?? []).includes(id)) {
          throw new AppError("NOT_FOUND", `The model \`${id.slice(0, 200)}\` does not exist or you do not have access to it.`, { details: { param: "model" } });
        }
        return modelObject(id, created);
      },
      { detail: { hide: true } },
    );
}
