// The admin's agent settings (gateway config `agents`): what every tenant agent starts from
// (`defaults`), the ceilings a tenant's `agents.<id>` may only lower, the tools the gateway enables,
// the caps on what a tenant's sessions may grow to, and each model's context window. Tenants set
// their agents in their overlay (modules/overlays: `agents.<id>`), validated against these.
import { Type as T, type Static } from "@sinclair/typebox";

const strict = { additionalProperties: false } as const;

/** The built-in agent tools (modules/agents/tools): the admin's `agents.tools` and each agent's `tools` choose among them. */
export const AGENT_TOOL_NAMES = ["file_read", "file_write", "file_edit", "file_list", "file_search", "exec", "http_fetch", "sessions_list", "session_history"] as const;

/**
 * An entry of a tool list (the admin's `agents.tools`, an agent's `tools`, the overlay's
 * `tools.allow`): a tool's name, or a prefix ending in `*` (`plugin__*`, `mcp__github__*`) that
 * names every tool it starts — how the tools of skills, plugins and MCP servers are enabled.
 */
export const TOOL_ENTRY_PATTERN = "^(?:[a-z0-9_.-]{1,64}|[a-z0-9_.-]{1,63}\\*)$";
export const ToolEntry = T.String({ pattern: TOOL_ENTRY_PATTERN, description: "a tool's name, or a prefix ending in * (plugin__*, mcp__*)" });

/** Whether `entry` (a name, or a prefix ending in *) names the tool `name`. */
export function toolMatches(entry: string, name: string): boolean {
  return entry.endsWith("*") ? name.startsWith(entry.slice(0, -1)) : entry === name;
}

/** Whether any entry of the list names the tool. */
export function listNames(list: readonly string[], name: string): boolean {
  return list.some((e) => toolMatches(e, name));
}

/** Whether every tool `entry` can name is named by the list (an agent's entry within the admin's). */
export function listCovers(list: readonly string[], entry: string): boolean {
  if (!entry.endsWith("*")) return listNames(list, entry);
  const prefix = entry.slice(0, -1);
  return list.some((e) => e.endsWith("*") && prefix.startsWith(e.slice(0, -1)));
}

/** An agent id (and the `<id>` of `openclaw/<id>` on the OpenAI surface). */
export const AGENT_ID_PATTERN = "^[a-z0-9][a-z0-9_-]{0,63}$";

export const AgentLimits = T.Object(
  {
    maxSteps: T.Optional(T.Integer({ minimum: 1, maximum: 1000, description: "model calls in one turn" })),
    maxSeconds: T.Optional(T.Integer({ minimum: 1, maximum: 86_400, description: "wall-clock seconds of one turn" })),
    maxOutputTokens: T.Optional(T.Integer({ minimum: 1, maximum: 10_000_000, description: "output tokens of all the turn's model calls together" })),
    toolOutputBytes: T.Optional(T.Integer({ minimum: 256, maximum: 64 * 1024 * 1024, description: "one tool result's bytes; longer output is cut and marked truncated" })),
  },
  strict,
);
export type AgentLimitsConfig = Static<typeof AgentLimits>;

export interface EffectiveAgentLimits {
  maxSteps: number;
  maxSeconds: number;
  maxOutputTokens: number;
  toolOutputBytes: number;
}

/** Ceilings when the admin sets none. */
export const DEFAULT_AGENT_CEILINGS: EffectiveAgentLimits = { maxSteps: 32, maxSeconds: 600, maxOutputTokens: 65_536, toolOutputBytes: 64 * 1024 };

export const AgentsSection = T.Object(
  {
    defaults: T.Optional(
      T.Object(
        {
          model: T.Optional(T.String({ minLength: 1, description: "the model agents use when they name none (else the tenant's default model)" })),
          systemPrompt: T.Optional(T.String({ maxLength: 65_536 })),
          tools: T.Optional(T.Array(ToolEntry, { maxItems: 200, description: "tools an agent has when it names none (within `agents.tools`); an entry may end in * (plugin__*)" })),
          limits: T.Optional(AgentLimits),
        },
        strict,
      ),
    ),
    ceilings: T.Optional(AgentLimits),
    tools: T.Optional(T.Array(ToolEntry, { maxItems: 200, description: "the tools the gateway enables for agents (default: every built-in tool; the tools of skills, plugins and MCP servers only when named here, e.g. skill_read, plugin__*, mcp__*)" })),
    maxSessionsPerTenant: T.Integer({ minimum: 1, maximum: 10_000_000, default: 1000, description: "sessions a tenant may hold" }),
    maxTranscriptBytes: T.Integer({ minimum: 4096, maximum: 1024 ** 3, default: 8 * 1024 * 1024, description: "bytes one session transcript may hold; a full one refuses new turns until reset" }),
    runsKeptPerTenant: T.Integer({ minimum: 10, maximum: 1_000_000, default: 1000, description: "finished runs the run index keeps per tenant (chat.wait, idempotent retries); older ones are pruned, their turns stay in the transcripts" }),
    maxAgentsPerTenant: T.Integer({ minimum: 1, maximum: 1000, default: 32, description: "agents a tenant's overlay may define" }),
    contextWindow: T.Object(
      {
        default: T.Integer({ minimum: 1024, default: 128_000, description: "tokens of context when the model has no entry" }),
        models: T.Optional(T.Record(T.String({ minLength: 1 }), T.Integer({ minimum: 1024 }))),
      },
      { ...strict, default: {} },
    ),
  },
  { ...strict, default: {} },
);
export type AgentsConfig = Static<typeof AgentsSection>;

/** The admin's ceilings over the built-in ones. */
export function agentCeilings(c: { agents: AgentsConfig }): EffectiveAgentLimits {
  return { ...DEFAULT_AGENT_CEILINGS, ...c.agents.ceilings };
}

/** The tools the admin enables for agents. */
export function enabledAgentTools(c: { agents: AgentsConfig }): readonly string[] {
  return c.agents.tools ?? AGENT_TOOL_NAMES;
}
