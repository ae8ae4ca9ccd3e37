// Agents: a tenant's assistant — its agents (overlay `agents.<id>` within the admin's `agents`
// settings), its sessions (an index in agent_sessions, JSONL transcripts under tenants/<id>/sessions/),
// and the run loop that calls the model through the chat service and runs the built-in tools in the
// tenant's sandbox. RPC: agents.*, sessions.*, chat.send/wait/abort; /v1: models "openclaw/<agentId>".
import { API_HEADERS } from "../../edge/security-headers.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import { auditModule } from "../audit/audit.module.ts";
import { chatModule } from "../chat/chat.module.ts";
import { diskModule } from "../disk/disk.module.ts";
import { eventsModule } from "../events/events.module.ts";
import { filesModule } from "../files/files.module.ts";
import { modelsModule } from "../models/models.module.ts";
import { defineModule } from "../module.ts";
import { overlaysModule } from "../overlays/overlays.module.ts";
import { sandboxModule } from "../sandbox/sandbox.module.ts";
import { telemetryModule } from "../telemetry/telemetry.module.ts";
import { tenantsModule } from "../tenants/tenants.module.ts";
import { agentsRpc } from "./agents.rpc.ts";
import { createAgentSurface } from "./openai-surface.ts";
import { createRunsService } from "./runs.service.ts";
import { createSessionsService, SESSIONS_DIR } from "./sessions.service.ts";
import { BUILTIN_TOOLS, builtinTool } from "./tools/registry.ts";
import type { AgentTool, ToolSource } from "./tools/tool.ts";

export const agentsModule = defineModule({
  name: "agents",
  needs: [auditModule, tenantsModule, overlaysModule, eventsModule, diskModule, sandboxModule, filesModule, modelsModule, telemetryModule, chatModule],
  create(platform, { audit, tenants, overlays, events, disk, sandbox, files, models, tracing, chat }) {
    const sessions = createSessionsService({ home: platform.home, sqlite: platform.handle.sqlite, dbFile: platform.handle.file, clock: platform.clock, config: platform.config, audit, events, disk });
    // Tools beyond the built-ins (tests; later, plugins): still only those the admin enables and the agent allows.
    const extraTools = new Map<string, AgentTool>();
    // Per-tenant tools from other modules (skills, plugins, MCP servers): tools/tool.ts ToolSource.
    const sources: ToolSource[] = [];
    const sourceTool = (tenant: TenantScope, name: string): AgentTool | undefined => {
      for (const s of sources) {
        const t = s.tools(tenant).find((x) => x.name === name);
        if (t) return t;
      }
      return undefined;
    };
    const prepareTools = async (tenant: TenantScope, signal: AbortSignal): Promise<void> => {
      await Promise.allSettled(sources.map((s) => s.prepare?.(tenant, signal)));
    };
    /** Every tool this tenant's agents could be given (before the admin's and the agent's allow-lists). */
    const forTenant = (tenant: TenantScope): AgentTool[] => {
      const out = new Map<string, AgentTool>();
      for (const t of [...BUILTIN_TOOLS, ...extraTools.values()]) if (!out.has(t.name)) out.set(t.name, t);
      for (const s of sources) for (const t of s.tools(tenant)) if (!out.has(t.name)) out.set(t.name, t);
      return [...out.values()];
    };
    const runs = createRunsService({
      home: platform.home,
      sqlite: platform.handle.sqlite,
      dbFile: platform.handle.file,
      clock: platform.clock,
      log: platform.log,
      config: platform.config,
      overlays,
      tenants,
      sessions,
      defaultModel: (tenant) => models.defaultFor(tenant) ?? models.listFor(tenant)[0] ?? null,
      loop: {
        clock: platform.clock,
        chat,
        events,
        tool: (name, tenant) => builtinTool(name) ?? extraTools.get(name) ?? sourceTool(tenant, name),
        prepareTools,
        mounts: (tenant) => sources.flatMap((s) => s.mounts?.(tenant) ?? []),
        toolsFor: (tenant) => forTenant(tenant),
        promptSections: (tenant, allows) => sources.map((s) => s.prompt?.(tenant, allows) ?? null).filter((x): x is string => !!x),
        services: { files, sandbox, sessions: sessions.forTools },
        telemetry: tracing.telemetry,
      },
    });
    chat.useAgents(createAgentSurface({ runs, events, responseHeaders: API_HEADERS }));
    return {
      sessions,
      runs,
      agentTools: {
        list: (): readonly AgentTool[] => [...BUILTIN_TOOLS, ...extraTools.values()],
        /** Adds a tool by name (a built-in of the same name wins). */
        add: (tool: AgentTool) => void extraTools.set(tool.name, tool),
        /** A module's per-tenant tools (skills, plugins, MCP): seen at each model call. */
        addSource: (source: ToolSource) => void sources.push(source),
        /** Lets every source learn this tenant's tools (remote lists) before forTenant lists them. */
        prepare: prepareTools,
        /** Every tool this tenant's agents could be given (before the admin's and the agent's allow-lists). */
        forTenant,
        /** Read-only folders the tenant's tool commands see (the sources' mounts: its skills), as agent runs give them. */
        mounts: (tenant: TenantScope) => sources.flatMap((s) => s.mounts?.(tenant) ?? []),
      },
    };
  },
}).with({
  rpc: agentsRpc,
  tenantData: {
    tables: [
      { table: "agent_sessions", tenantColumn: "tenant_id" },
      { table: "agent_runs", tenantColumn: "tenant_id" },
    ],
    dirs: [SESSIONS_DIR],
    // Session counters a run keeps in memory are written before the rows are read.
    beforeBackup: ({ sessions }, tenant) => sessions.flushAll(tenant.tenantId),
    // A restore brings back rows of runs that were running when the backup was taken: interrupted.
    onDelete: ({ sessions }, tenant) => sessions.forgetTenant(tenant),
    onRestore: ({ runs, sessions }, tenant) => {
      sessions.forgetTenant(tenant);
      void runs.recover(tenant.tenantId);
    },
    onStop: ({ runs }, stop) => runs.stopTenant(stop),
  },
  // Runs still recorded as running when the gateway starts were interrupted by a crash or a stop.
  start: ({ runs }) => void runs.recover(),
  close: ({ sessions }) => sessions.flushAll(),
});
