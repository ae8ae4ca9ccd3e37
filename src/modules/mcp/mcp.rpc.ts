// Tenant RPC of mcp: `mcp.servers` — the caller's own MCP servers (its overlay's mcpServers and its
// enabled plugins' servers, each with its source) and how they are: connected (with the tools its
// agents get and those skipped), idle (not used yet, or closed when idle), or failed with the reason
// (refused by the egress policy, could not connect, a name taken). Only the caller's.
import { Type as T } from "@sinclair/typebox";
import { defineTenantMethod } from "../../edge/rpc.ts";
import type { RemoteClients } from "./remote-clients.ts";

const ServerStatusSchema = T.Object({
  name: T.String(),
  url: T.String(),
  state: T.Union([T.Literal("connected"), T.Literal("idle"), T.Literal("error")]),
  error: T.Union([T.String(), T.Null()], { description: "why the last connection failed" }),
  tools: T.Array(T.String(), { description: "the tools the tenant's agents get from it (mcp__<server>__<tool>)" }),
  skipped: T.Array(T.String(), { description: "tools it lists that are not passed on: the name is past 64 characters with its prefix or not [A-Za-z0-9_-], or the schema is past 64 KiB" }),
  source: T.Union([T.Literal("overlay"), T.Literal("plugin")], { description: "where it is declared: the overlay's mcpServers, or an enabled plugin's manifest (then named <plugin>-<server>)" }),
  plugin: T.Union([T.String(), T.Null()], { description: "the plugin that declares it" }),
});

export function mcpRpc({ mcpClients }: { mcpClients: RemoteClients }) {
  return [
    defineTenantMethod({
      name: "mcp.servers",
      summary: "The caller's MCP servers (overlay mcpServers, and its enabled plugins' as <plugin>-<server>): connected with their tools, idle, or failed with the reason.",
      params: {},
      result: T.Object({ servers: T.Array(ServerStatusSchema) }),
      mutates: false,
      example: {},
      handler: (tenant) => ({ servers: mcpClients.status(tenant) }),
    }),
  ];
}
