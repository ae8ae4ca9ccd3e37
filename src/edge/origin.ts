// Which browser origins may drive a tenant surface that a page could reach (the WebSockets, /mcp).
/**
 * Browsers send Origin; other clients do not. A browser page may use the surface only from the
 * gateway's own origin (its Host) or one the admin lists (gateway.websocket.allowedOrigins,
 * gateway.mcp.allowedOrigins): the token
 * is never ambient (no cookies), but this keeps a page of another site from driving a token it got
 * hold of through the visitor's network position.
 */
export function originAllowed(request: Request, allowed: readonly string[]): boolean {
  const origin = request.headers.get("origin");
  if (origin === null) return true;
  if (allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === request.headers.get("host");
  } catch {
    return false;
  }
}
