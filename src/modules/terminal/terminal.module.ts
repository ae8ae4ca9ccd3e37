// Web terminals: the tenant's shell on a PTY in its own sandbox, over the tenant WebSocket
// (terminal.* methods; README "Web terminal"). Nothing is stored: a terminal lives in this process
// only, and ends when its tenant stops or the gateway does.
import { agentsModule } from "../agents/agents.module.ts";
import { auditModule } from "../audit/audit.module.ts";
import { defineModule } from "../module.ts";
import { sandboxModule } from "../sandbox/sandbox.module.ts";
import { terminalRpc } from "./terminal.rpc.ts";
import { createTerminalService } from "./terminal.service.ts";

export const terminalModule = defineModule({
  name: "terminal",
  needs: [auditModule, sandboxModule, agentsModule],
  create: (platform, { audit, sandbox, agentTools }) => ({
    terminal: createTerminalService({ sandbox, audit, mounts: agentTools.mounts, config: platform.config, clock: platform.clock, timers: platform.timers, log: platform.log }),
  }),
}).with({
  rpc: terminalRpc,
  tenantData: {
    // Suspend, delete, a restore over the tenant or its token's end closes its terminals.
    onStop: ({ terminal }, stop) => terminal.stopTenant(stop),
  },
  start: ({ terminal }) => ({ stop: () => terminal.stopAll() }),
  close: ({ terminal }) => void terminal.stopAll(),
});
