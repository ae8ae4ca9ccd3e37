// MCP: the gateway as an MCP server for each tenant at /mcp (Streamable HTTP, the tenant token as
// Bearer), listing that tenant's tools and its agents as `agent_ask`; and as an MCP client of the
// tenant's MCP servers — remote ones (overlay `mcpServers`), reached only through the egress policy,
// and stdio ones in its sandbox (overlay `mcpServers.<name>.command`, and its enabled plugins'
// manifests as `<plugin>-<server>`) — whose tools its agents get as `mcp__<server>__<tool>` (a ToolSource). Nothing here is stored per
// tenant beyond the overlay (which the overlays module carries); what lives in memory — calls in
// progress, open client connections — ends when the tenant stops.
import { admissionModule } from "../admission/admission.module.ts";
import { agentsModule } from "../agents/agents.module.ts";
import { filesModule } from "../files/files.module.ts";
import { defineModule } from "../module.ts";
import { overlaysModule } from "../overlays/overlays.module.ts";
import { sandboxModule } from "../sandbox/sandbox.module.ts";
import { skillsModule } from "../skills/skills.module.ts";
import { mcpRoutes } from "./mcp.routes.ts";
import { mcpRpc } from "./mcp.rpc.ts";
import { createMcpServer } from "./mcp.server.ts";
import { createRemoteClients } from "./remote-clients.ts";

export const mcpModule = defineModule({
  name: "mcp",
  needs: [admissionModule, overlaysModule, filesModule, sandboxModule, agentsModule, skillsModule],
  create(platform, { overlays, skills, files, sandbox, runs, sessions, agentTools }) {
    const mcpClients = createRemoteClients({ config: platform.config, log: platform.log, overlays, skills, sandbox, version: platform.version });
    agentTools.addSource(mcpClients.source);
    const mcpServer = createMcpServer({
      version: platform.version,
      config: platform.config,
      log: platform.log,
      overlays,
      agentTools,
      runs,
      services: { files, sandbox, sessions: sessions.forTools },
    });
    return { mcpServer, mcpClients };
  },
}).with({
  rpc: mcpRpc,
  routes: ({ mcpServer, admission }) => mcpRoutes({ mcpServer, admission, config: mcpServer.config }),
  tenantData: {
    onDelete: ({ mcpClients }, tenant) => mcpClients.closeTenant(tenant.tenantId),
    onRestore: ({ mcpClients }, tenant) => mcpClients.closeTenant(tenant.tenantId),
    onStop: ({ mcpServer, mcpClients }, stop) => {
      mcpServer.stopTenant(stop);
      if (stop.reason !== "token-revoked") mcpClients.closeTenant(stop.tenantId);
    },
  },
  close: ({ mcpClients }) => mcpClients.closeAll(),
});
