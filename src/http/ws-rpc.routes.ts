// GET /rpc: the tenant JSON-RPC API over a WebSocket (the same methods as POST /rpc) plus the tenant's
// events as notifications. The edge has authenticated the handshake already — by the Authorization
// header or, for browsers, the subprotocol `bearer.<token>`, never the URL — with the one 401 every
// failure gets; here, before the upgrade: the browser origin policy, the subprotocol answer, and the
// per-tenant and global connection caps. The connection itself is ws-rpc.connection.ts.
import { Elysia } from "elysia";
import type { Core } from "../app/core.ts";
import { AppError } from "../core/errors.ts";
import { requestInfo } from "../edge/request-info.ts";
import { offeredProtocols, WS_PROTOCOL, type Auth } from "./auth.ts";
import type { Admission as RpcAdmission } from "../modules/admission/admission.service.ts";
import type { RpcRegistry } from "./rpc-registry.ts";
import { WsRpcConnection, type WsShared } from "./ws-rpc.connection.ts";

type Upgrader = { upgrade(request: Request, opts: { headers?: Record<string, string>; data: unknown }): boolean } | null;

// The Origin rule lives in the edge (edge/origin.ts), shared with /mcp.
import { originAllowed } from "../edge/origin.ts";
export { originAllowed };

/** Bun's websocket settings for the app (fixed when the server starts listening). */
export function websocketOptions(core: Core) {
  const ws = core.config.gateway.websocket;
  return {
    maxPayloadLength: ws.maxMessageBytes,
    idleTimeout: ws.idleTimeoutSeconds,
    // Bun pings an idle connection and closes it when nothing answers within idleTimeout.
    sendPings: true,
    // Our own cap (maxBufferedBytes, 4008) acts first; this is Bun's backstop, above it.
    backpressureLimit: ws.maxBufferedBytes * 2 + 16 * 1024 * 1024,
    closeOnBackpressureLimit: true,
    perMessageDeflate: false,
  };
}

export function wsRpcRoutes(core: Core, auth: Auth, registry: RpcRegistry, admission: RpcAdmission) {
  const shared: WsShared = { core, registry, admission, log: core.log.withTag("ws") };
  return new Elysia().get(
    "/rpc",
    ({ request, server }) => {
      const info = requestInfo(request);
      const tenant = info.tenant!;
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        throw new AppError("BAD_REQUEST", "GET /rpc is the WebSocket endpoint: open it with a WebSocket handshake (Upgrade: websocket), or POST JSON-RPC to /rpc");
      }
      const ws = core.config.gateway.websocket;
      if (!originAllowed(request, ws.allowedOrigins)) {
        throw new AppError("FORBIDDEN", "this Origin may not open the gateway's WebSocket: only the gateway's own origin and gateway.websocket.allowedOrigins may");
      }
      const offered = offeredProtocols(request);
      if (offered.length > 0 && !offered.includes(WS_PROTOCOL)) {
        throw new AppError("BAD_REQUEST", `offer the subprotocol "${WS_PROTOCOL}" (Sec-WebSocket-Protocol), or none`);
      }
      const release = core.wsConnections.reserve(tenant.tenantId);
      const caller = { ip: info.ip, requestId: info.requestId, clientRequestId: info.clientRequestId, method: "GET", path: "/rpc" };
      const op = { actor: info.actor!, requestId: info.requestId, clientRequestId: info.clientRequestId, ip: info.ip };
      const conn = new WsRpcConnection(shared, tenant, { ip: info.ip, clientRequestId: info.clientRequestId }, auth.refuseOther(caller, op, tenant), release);
      // Only ever our protocol name is answered: Bun would otherwise echo the first one offered,
      // which may be `bearer.<token>`.
      const headers: Record<string, string> = offered.length > 0 ? { "sec-websocket-protocol": WS_PROTOCOL } : {};
      if (!(server as Upgrader)?.upgrade(request, { headers, data: conn })) {
        release();
        throw new AppError("BAD_REQUEST", "the WebSocket handshake was not valid");
      }
      return;
    },
    { detail: { hide: true } },
  );
}
