// What an agent tool is and what it is given. Each built-in tool is one file in this folder exporting
// one `AgentTool`; ./registry.ts lists them. A tool acts only for the run's tenant, through that
// tenant's services (files through the one path resolver rooted at the workspace, commands through the
// tenant's sandbox and its limits, egress through the tool's allow-list), and never throws at the run:
// a refusal or failure is a result with `isError`, which goes back to the model as the tool's output.
import type { TenantScope } from "../../../edge/tenant-scope.ts";
import type { FilesService } from "../../files/files.service.ts";
import type { SandboxService } from "../../sandbox/sandbox.service.ts";
import type { FeatureMount, SandboxMode } from "../../sandbox/sandbox.types.ts";

/** A session as the tenant's own session tools see it. */
export interface ToolSessionSummary {
  key: string;
  sessionId: string;
  agentId: string;
  createdAt: number;
  updatedAt: number;
  entries: number;
}

/** The tenant's sessions, read-only, as the `sessions_list` and `session_history` tools use them. */
export interface ToolSessions {
  list(tenant: TenantScope, opts: { limit: number; cursor?: string }): { sessions: ToolSessionSummary[]; nextCursor: string | null };
  /** Transcript entries of the session's current id, oldest first; NOT_FOUND (AppError) when the tenant has no such session. */
  history(tenant: TenantScope, key: string, opts: { limit: number; cursor?: string }): { entries: Record<string, unknown>[]; nextCursor: string | null };
}

export interface ToolServices {
  files: FilesService;
  sandbox: SandboxService;
  sessions: ToolSessions;
}

export interface ToolContext {
  tenant: TenantScope;
  agentId: string;
  sessionKey: string;
  runId: string;
  /** Aborted when the run is aborted, hits a limit, or the tenant stops: a tool stops what it started. */
  signal: AbortSignal;
  /** The tenant token that started the run (sandbox runs end when it stops working). */
  token?: string;
  /** The agent's sandbox mode (undefined: the tenant's default). */
  sandboxMode?: SandboxMode;
  /** Seconds left in the turn: a tool never outlives it. */
  secondsLeft: number;
  /** The agent's cap on one tool result's bytes; longer output is cut and marked truncated. */
  maxOutputBytes: number;
  services: ToolServices;
  /** Read-only folders of the tenant's that its command runs see (ToolSource.mounts: skills at /mnt/skills). */
  mounts?: readonly FeatureMount[];
}

export interface ToolResult {
  /** What the model reads back. */
  content: string;
  isError: boolean;
  truncated: boolean;
}

export interface AgentTool {
  name: string;
  description: string;
  /** JSON Schema (draft 2020-12 subset the providers take) of the arguments object. */
  parameters: Record<string, unknown>;
  run(args: Record<string, unknown>, ctx: ToolContext): Promise<ToolResult>;
}

/**
 * Tools a module offers one tenant beyond the built-ins (skills' `skill_read`, plugin tools, MCP
 * servers' tools): looked up per tenant at each model call, so what a tenant installs or removes is
 * seen at its next step. Names never collide with built-ins (a built-in of the same name wins) and are
 * prefixed by their source (`plugin__<plugin>__<tool>`, `mcp__<server>__<tool>`); they obey the admin's
 * enabled tools and the agent's allow-list like any tool (see agent-config.ts).
 */
export interface ToolSource {
  /** The source's name, for logs. */
  readonly name: string;
  /** This tenant's tools from this source now (cheap: called at every model call of its runs). */
  tools(tenant: TenantScope): readonly AgentTool[];
  /**
   * Makes this tenant's tools known before they are listed, when that takes I/O (a remote MCP server's
   * tool list): awaited at a run's start and before /mcp lists tools. It bounds its own time, never
   * throws (a source that cannot get ready lists what it has), and ends when `signal` aborts.
   */
  prepare?(tenant: TenantScope, signal: AbortSignal): Promise<void>;
  /** A section of the system prompt for an agent that may call the tools `allows` says yes to (skills list themselves), or null. */
  prompt?(tenant: TenantScope, allows: (tool: string) => boolean): string | null;
  /** Read-only folders of the tenant's that the agent's command runs (exec) see, or none. */
  mounts?(tenant: TenantScope): readonly FeatureMount[];
}
