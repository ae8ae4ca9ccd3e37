// Which front door a path belongs to; it decides the authentication, the error envelope and the body limit.
export type Surface = "control" | "rpc" | "openai" | "ws" | "docs" | "health";

export function surfaceOf(pathname: string): Surface {
  if (pathname === "/rpc" || pathname.startsWith("/rpc/")) return "rpc";
  if (pathname.startsWith("/v1/")) return "openai";
  if (pathname === "/ws" || pathname.startsWith("/ws/")) return "ws";
  if (pathname === "/admin/docs" || pathname.startsWith("/admin/docs/") || pathname === "/admin/openapi.json") return "docs";
  if (pathname === "/healthz" || pathname === "/readyz") return "health";
  return "control";
}
