// /mcp: the tenant's MCP endpoint (Streamable HTTP). The edge authenticated the token before the body
// was read — the same path, throttle and one 401 as /v1 and /rpc — and read the body within
// gateway.mcp.maxRequestBytes. Here: the Origin rule the MCP spec asks of servers against DNS
// rebinding (a browser Origin other than the gateway's own or one the admin lists is refused), the
// identity re-checked once the body is in, and a place among the tenant's requests in progress (the
// one admission every tenant surface shares). The server is stateless: POST only; GET (a standalone
// event stream) and DELETE (a session's end) are 405, as the spec allows.
import { Elysia } from "elysia";
import type { GatewayConfig } from "../../config/schema.ts";
import { AppError } from "../../core/errors.ts";
import { requestInfo, tenantOf } from "../../edge/request-info.ts";
import type { McpServer } from "./mcp.server.ts";

export interface McpRouteDeps {
  mcpServer: McpServer;
  admission: { admit(tenantId: string): () => void };
  config(): GatewayConfig;
}

function gate(request: Request, config: GatewayConfig): void {
  if (!config.gateway.mcp.enabled) throw new AppError("NOT_FOUND", "no route for /mcp: the gateway does not serve MCP (gateway.mcp.enabled)");
  // A browser Origin is taken only from the admin's list: the "gateway's own" origin cannot be told
  // from the Host header, which a DNS-rebinding page sets to its own name (red team 18, F4).
  const origin = request.headers.get("origin");
  if (origin !== null && !config.gateway.mcp.allowedOrigins.includes(origin)) throw new AppError("FORBIDDEN", "this Origin may not call /mcp: only origins in gateway.mcp.allowedOrigins may (clients that are not browsers send none)");
}

const notAllowed = (request: Request, deps: McpRouteDeps) => {
  gate(request, deps.config());
  return new Response(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32000, message: "Method not allowed: this server is stateless; send requests with POST" } }), { status: 405, headers: { allow: "POST", "content-type": "application/json" } });
};

export function mcpRoutes(deps: McpRouteDeps) {
  return new Elysia()
    .post(
      "/mcp",
      async ({ request, body }) => {
        gate(request, deps.config());
        const info = requestInfo(request);
        const identity = tenantOf(request);
        // The body may have taken a while to arrive: the identity must still be the one admitted.
        identity.assertCurrent();
        const release = deps.admission.admit(identity.tenantId);
        try {
          const op = { actor: info.actor!, requestId: info.requestId, clientRequestId: info.clientRequestId, ip: info.ip };
          return await deps.mcpServer.handle(request, identity, typeof body === "string" ? body : "", op);
        } finally {
          release();
        }
      },
      { detail: { hide: true } },
    )
    .get("/mcp", ({ request }) => notAllowed(request, deps), { detail: { hide: true } })
    .delete("/mcp", ({ request }) => notAllowed(request, deps), { detail: { hide: true } });
}
