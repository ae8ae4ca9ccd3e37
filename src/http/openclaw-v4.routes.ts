// GET / with a WebSocket handshake: upstream OpenClaw's gateway protocol (v4), the URL its CLI, TUI and
// Control UI are given. Unlike GET /rpc the handshake carries no credential: the tenant token comes in
// the protocol's `connect` frame, and is checked there by the same code and throttle as every tenant
// surface (auth.token). Here, before the upgrade: the browser origin policy of /rpc, and the caps on
// connections that have not authenticated yet. The protocol itself is src/modules/openclaw-protocol/.
// A plain GET / is what it always was: no route.
import { Elysia } from "elysia";
import type { Core } from "../app/core.ts";
import { AppError } from "../core/errors.ts";
import { requestInfo } from "../edge/request-info.ts";
import type { Auth } from "./auth.ts";
import { sourceNetwork } from "./client-ip.ts";
import { originAllowed } from "./ws-rpc.routes.ts";

type Upgrader = { upgrade(request: Request, opts: { data: unknown }): boolean } | null;

export function openclawV4Routes(core: Core, auth: Auth) {
  return new Elysia().get(
    "/",
    ({ request, server }) => {
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") throw new AppError("NOT_FOUND", "no route for GET /");
      const info = requestInfo(request);
      if (!originAllowed(request, core.config.gateway.websocket.allowedOrigins)) {
        throw new AppError("FORBIDDEN", "this Origin may not open the gateway's WebSocket: only the gateway's own origin and gateway.websocket.allowedOrigins may");
      }
      const caller = { ip: info.ip, requestId: info.requestId, clientRequestId: info.clientRequestId, method: "GET", path: "/" };
      const conn = core.openclawProtocol.connection({
        ip: info.ip,
        source: sourceNetwork(info.ip, core.config.gateway.authThrottle.ipv6PrefixBits),
        authenticate: (token) => auth.token(token, caller).tenant,
        failed: (token) => {
          try {
            auth.failedToken(token, caller);
          } catch {
            // only the counting matters: the connection answers its one refusal itself
          }
        },
      });
      if (!(server as Upgrader)?.upgrade(request, { data: conn })) {
        conn.end(1000, "");
        throw new AppError("BAD_REQUEST", "the WebSocket handshake was not valid");
      }
      return;
    },
    { detail: { hide: true } },
  );
}
