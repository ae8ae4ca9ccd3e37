// POST /rpc: tenant JSON-RPC 2.0 (single or batch) with the tenant token as Bearer.
// GET /rpc/openrpc.json: the method registry as an OpenRPC document.
import { Elysia } from "elysia";
import type { Core } from "../../app/core.ts";
import type { Auth } from "../auth.ts";
import { bodyLimit, readCapped } from "../limits.ts";
import { requestInfo } from "../../edge/request-info.ts";
import { dispatch } from "./dispatch.ts";
import type { RpcRegistry } from "./registry.ts";

export function rpcRoutes(core: Core, auth: Auth, registry: RpcRegistry) {
  return new Elysia()
    .get("/rpc/openrpc.json", () => registry.openrpc(core.version), { detail: { hide: true } })
    .post(
      "/rpc",
      async ({ request, body }) => {
        const info = requestInfo(request);
        const caller = { ip: info.ip, requestId: info.requestId, clientRequestId: info.clientRequestId, method: "POST", path: "/rpc" };
        // Authenticated at the edge, before the body was read.
        const tenantId = info.tenantId!;
        const actor = info.actor!;
        const text = typeof body === "string" ? body : await readCapped(request, bodyLimit(core.config, "rpc"));
        const out = await dispatch(registry, text, { core, tenantId, actor, requestId: info.requestId, clientRequestId: info.clientRequestId, ip: info.ip, denials: auth.denials(caller, tenantId) });
        if (out === null) return new Response(null, { status: 204 });
        return new Response(out, { headers: { "content-type": "application/json; charset=utf-8" } });
      },
      { detail: { hide: true } },
    );
}
