// POST /rpc: tenant JSON-RPC 2.0 (single or batch) with the tenant token as Bearer.
// GET /rpc/openrpc.json: the method registry as an OpenRPC document.
import { Elysia } from "elysia";
import type { Core } from "../app/core.ts";
import { requestInfo } from "../edge/request-info.ts";
import type { Auth } from "./auth.ts";
import { bodyLimit, readCapped } from "./limits.ts";
import { dispatch } from "./rpc-dispatch.ts";
import type { RpcRegistry } from "./rpc-registry.ts";

export function rpcRoutes(core: Core, auth: Auth, registry: RpcRegistry) {
  const log = core.log.withTag("rpc");
  return new Elysia()
    .get("/rpc/openrpc.json", () => registry.openrpc(core.version), { detail: { hide: true } })
    .post(
      "/rpc",
      async ({ request, body }) => {
        const info = requestInfo(request);
        const caller = { ip: info.ip, requestId: info.requestId, clientRequestId: info.clientRequestId, method: "POST", path: "/rpc" };
        // Authenticated at the edge, before the body was read.
        const tenant = info.tenant!;
        const op = { actor: info.actor!, requestId: info.requestId, clientRequestId: info.clientRequestId, ip: info.ip };
        const text = typeof body === "string" ? body : await readCapped(request, bodyLimit(core.config, "rpc"));
        const out = await dispatch(registry, text, { tenant, op, refuseOther: auth.refuseOther(caller, op, tenant) }, log);
        if (out === null) return new Response(null, { status: 204 });
        return new Response(out, { headers: { "content-type": "application/json; charset=utf-8" } });
      },
      { detail: { hide: true } },
    );
}
