// OpenAI-compatible routes (/v1): chat completions and the calling tenant's model list. The tenant
// was authenticated at the edge; errors use OpenAI's envelope so OpenAI SDKs surface them.
import { Elysia } from "elysia";
import type { Core } from "../../core/core.ts";
import { AppError } from "../../core/errors.ts";
import { requestInfo } from "../../http/request-info.ts";
import { ClientGone } from "../providers/provider.ts";

function modelObject(id: string, created: number) {
  return { id, object: "model", created, owned_by: "openclaw" };
}

export function chatRoutes(core: Core) {
  const created = Math.floor(core.startedAt / 1000);
  return new Elysia({ prefix: "/v1" })
    .post(
      "/chat/completions",
      async ({ request, body, server }) => {
        const info = requestInfo(request);
        // The body may have taken a while to arrive: the identity must still be the one admitted.
        info.scope!.assertCurrent();
        try {
          const res = await core.chat.handle({
            tenantId: info.tenantId!,
            requestId: info.requestId,
            body,
            clientSignal: () => request.signal,
            requestIdHeader: info.requestId,
          });
          // A stream may be quiet for longer than the idle timeout; it sends its own keep-alives.
          if (res.headers.get("content-type")?.startsWith("text/event-stream")) server?.timeout(request, 0);
          return res;
        } catch (err) {
          if (err instanceof ClientGone) return new Response(null, { status: 499 });
          throw err;
        }
      },
      { detail: { hide: true } },
    )
    .get(
      "/models",
      ({ request, set }) => {
        const tenantId = requestInfo(request).tenantId!;
        Object.assign(set.headers, core.quotaEngine.headers(tenantId));
        return { object: "list", data: core.models.listFor(tenantId).map((id) => modelObject(id, created)) };
      },
      { detail: { hide: true } },
    )
    .get(
      "/models/*",
      ({ request, params, set }) => {
        const id = decodeURIComponent((params as { "*": string })["*"]);
        const tenantId = requestInfo(request).tenantId!;
        Object.assign(set.headers, core.quotaEngine.headers(tenantId));
        if (!core.models.listFor(tenantId).includes(id)) {
          throw new AppError("NOT_FOUND", `The model \`${id.slice(0, 200)}\` does not exist or you do not have access to it.`, { details: { param: "model" } });
        }
        return modelObject(id, created);
      },
      { detail: { hide: true } },
    );
}
