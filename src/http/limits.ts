// Explicit request limits, checked before any parsing or authentication: header bytes and count
// (431), declared body size per surface (413), and a capped read for bodies without a length.
import type { GatewayConfig } from "../config/schema.ts";
import { AppError } from "../core/errors.ts";
import type { Surface } from "../edge/surface.ts";
import { readBodyCapped } from "../lib/read-capped.ts";

export function bodyLimit(config: GatewayConfig, surface: Surface): number {
  const l = config.gateway.limits;
  switch (surface) {
    case "control":
      return l.adminBodyBytes;
    case "rpc":
      return l.rpcBodyBytes;
    case "mcp":
      return config.gateway.mcp.maxRequestBytes;
    case "openai":
    case "anthropic":
      return l.chatBodyBytes;
    case "channels":
      return config.gateway.channels.maxInboundBytes;
    default:
      return l.otherBodyBytes;
  }
}

/** The largest body any route accepts: Bun's own cap is set to this. */
export function maxBodyLimit(config: GatewayConfig): number {
  const l = config.gateway.limits;
  return Math.max(l.adminBodyBytes, l.rpcBodyBytes, l.chatBodyBytes, l.otherBodyBytes, config.gateway.channels.maxInboundBytes, config.gateway.mcp.maxRequestBytes);
}

export function checkHeaders(headers: Headers, config: GatewayConfig): AppError | null {
  const l = config.gateway.limits;
  let bytes = 0;
  let count = 0;
  headers.forEach((value, name) => {
    bytes += name.length + value.length + 4;
    count++;
  });
  if (bytes > l.maxHeaderBytes || count > l.maxHeaderCount) {
    return new AppError("HEADERS_TOO_LARGE", `request headers exceed the limit (${l.maxHeaderBytes} bytes, ${l.maxHeaderCount} fields)`);
  }
  return null;
}

export function checkDeclaredBody(headers: Headers, limit: number): AppError | null {
  const cl = headers.get("content-length");
  if (cl === null) return null;
  if (!/^\d+$/.test(cl)) return new AppError("BAD_REQUEST", "content-length is not a number");
  if (Number(cl) > limit) return new AppError("PAYLOAD_TOO_LARGE", `request body is larger than the limit of ${limit} bytes`);
  return null;
}

/** Reads a body as text, stopping as soon as it passes `limit` bytes. */
export async function readCapped(request: Request, limit: number): Promise<string> {
  if (!request.body) return "";
  // A declared length was already checked against the limit at the edge (and Bun enforces it).
  if (request.headers.get("content-length") !== null) return request.text();
  const bytes = await readBodyCapped(request.body, limit);
  if (bytes === null) throw new AppError("PAYLOAD_TOO_LARGE", `request body is larger than the limit of ${limit} bytes`);
  return bytes.toString("utf8");
}
