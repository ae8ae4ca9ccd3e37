// Tenant RPC of mcp: `mcp.servers` — the caller's own remote MCP servers (overlay mcpServers) and how
// they are: connected (with the tools its agents get), idle (not used yet, or closed when idle), or
// failed with the reason (refused by the egress policy, could not connect). Only the caller's.
import { Type as T } from "@sinclair/typebox";
import { defineTenantMethod } from "../../edge/rpc.ts";
import type { RemoteClients } from "./remote-clients.ts";

const ServerStatusSchema = T.Object({
  name: T.String(),
  url: T.String(),
  state: T.Union([T.Literal("connected"), T.Literal("idle"), T.Literal("error")]),
  error: T.Union([T.String(), T.Null()], { description: "why the last connection failed" }),
  tools: T.Array(T.String(), { description: "the tools the tenant's agents get from it (mcp__<server>__<tool>)" }),
});

export function mcpRpc({ mcpClients }: { mcpClients: RemoteClients }) {
  return [
    defineTenantMethod({
      name: "mcp.servers",
      summary: "The caller's remote MCP servers (overlay mcpServers): connected with their tools, idle, or failed with the reason.",
      params: {},
      result: T.Object({ servers: T.Array(ServerStatusSchema) }),
      mutates: false,
      example: {},
      handler: (tenant) => ({ servers: mcpClients.status(tenant) }),
    }),
  ];
}
