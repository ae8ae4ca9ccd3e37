// Which front door a path belongs to; it decides the authentication, the error envelope and the body limit.
export type Surface = "control" | "rpc" | "mcp" | "openai" | "anthropic" | "ws" | "docs" | "health" | "channels";

/** The LLM surfaces under /v1 (tenant tokens, chat body limit, tenant quota headers on errors). */
export const isApiSurface = (s: Surface): s is "openai" | "anthropic" => s === "openai" || s === "anthropic";

export function surfaceOf(pathname: string): Surface {
  if (pathname === "/rpc" || pathname.startsWith("/rpc/")) return "rpc";
  // MCP (Streamable HTTP) for tenant tokens (modules/mcp): JSON-RPC envelopes, its own body limit.
  if (pathname === "/mcp" || pathname.startsWith("/mcp/")) return "mcp";
  // Anthropic's Messages API (modules/messages): its own error envelope and the x-api-key header.
  if (pathname === "/v1/messages" || pathname.startsWith("/v1/messages/")) return "anthropic";
  if (pathname.startsWith("/v1/")) return "openai";
  if (pathname === "/ws" || pathname.startsWith("/ws/")) return "ws";
  if (pathname === "/admin/docs" || pathname.startsWith("/admin/docs/") || pathname === "/admin/openapi.json") return "docs";
  if (pathname === "/healthz" || pathname === "/readyz") return "health";
  // Chat platforms' webhooks (modules/channels): no token, the platform's signature instead.
  if (pathname.startsWith("/channels/")) return "channels";
  return "control";
}
