// A tenant's agents as they are in force: the admin's `agents.defaults` under the tenant's
// `agents.<id>` (the overlay validated both against the admin's lists and ceilings; this clamps again
// so an admin who lowers a ceiling later is obeyed at once). `main` exists for every tenant. The
// overlay's older `agent.systemPrompt`/`agent.systemPromptFile` are `main`'s prompt when
// `agents.main` sets none.
import fs from "node:fs";
import { agentCeilings, enabledAgentTools, listNames, type EffectiveAgentLimits } from "../../config/agents-schema.ts";
import type { GatewayConfig } from "../../config/schema.ts";
import { AppError } from "../../core/errors.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import type { FilesService } from "../files/files.service.ts";
import type { Overlay } from "../overlays/overlay.schema.ts";
import { openInRoot } from "../paths/path-resolver.ts";
import type { SandboxMode } from "../sandbox/sandbox.types.ts";

export interface EffectiveAgent {
  id: string;
  /** The model it calls (null: the tenant's default model). */
  model: string | null;
  systemPrompt: string | null;
  systemPromptFile: string | null;
  /** The agent's tool entries (names, or prefixes ending in *), within `toolBounds`. */
  tools: string[];
  /** The lists every tool the agent is given must also be named by: the admin's enabled tools, and the overlay's tools.allow when set. */
  toolBounds: readonly (readonly string[])[];
  limits: EffectiveAgentLimits;
  sandboxMode: SandboxMode | null;
  contextWindow: number;
}

const MAX_PROMPT_FILE_BYTES = 256 * 1024;
/** Workspace files that join the system prompt when present, as upstream OpenClaw does. */
export const CONTEXT_FILES = ["AGENTS.md", "SOUL.md"] as const;

export function agentIds(overlay: Overlay): string[] {
  return ["main", ...Object.keys(overlay.agents ?? {}).filter((id) => id !== "main").sort()];
}

export function effectiveAgent(config: GatewayConfig, overlay: Overlay, id: string): EffectiveAgent | null {
  // Own properties only: an id such as "constructor" must not find Object.prototype's (red team 13, F6).
  const defined = overlay.agents !== undefined && Object.hasOwn(overlay.agents, id) ? overlay.agents[id] : undefined;
  if (id !== "main" && !defined) return null;
  const own = defined ?? {};
  const defaults = config.agents.defaults ?? {};
  const legacy = id === "main" && own.systemPrompt === undefined && own.systemPromptFile === undefined ? (overlay.agent ?? {}) : {};
  const ceilings = agentCeilings(config);
  const wanted = { ...defaults.limits, ...own.limits };
  const limits = Object.fromEntries(Object.entries(ceilings).map(([k, max]) => [k, Math.min(max, (wanted as Record<string, number | undefined>)[k] ?? max)])) as unknown as EffectiveAgentLimits;
  const enabled = enabledAgentTools(config);
  const tenantAllow = overlay.tools?.allow;
  // A name outside the bounds is dropped here; a prefix is kept and each tool it names is checked against the bounds (agentAllows).
  const tools = (own.tools ?? defaults.tools ?? enabled).filter((t) => t.endsWith("*") || (listNames(enabled, t) && (!tenantAllow || listNames(tenantAllow, t))));
  const model = own.model ?? defaults.model ?? null;
  const windows = config.agents.contextWindow;
  const systemPromptFile = own.systemPromptFile ?? legacy.systemPromptFile ?? null;
  return {
    id,
    model,
    systemPrompt: own.systemPrompt ?? legacy.systemPrompt ?? (systemPromptFile ? null : (defaults.systemPrompt ?? null)),
    systemPromptFile,
    tools: [...new Set(tools)],
    toolBounds: tenantAllow ? [enabled, tenantAllow] : [enabled],
    limits,
    sandboxMode: own.sandboxMode ?? null,
    contextWindow: (model && windows.models && Object.hasOwn(windows.models, model) ? windows.models[model] : undefined) || windows.default,
  };
}

/** Whether the agent may call the tool `name`: named by its own entries and by every bound. */
export function agentAllows(agent: Pick<EffectiveAgent, "tools" | "toolBounds">, name: string): boolean {
  return listNames(agent.tools, name) && agent.toolBounds.every((b) => listNames(b, name));
}

/** Reads the prompt file through the one resolver (inside the tenant directory, no final link). */
function readPromptFile(tenantRoot: string, rel: string): string {
  let fd: number;
  try {
    ({ fd } = openInRoot(tenantRoot, rel, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK));
  } catch (err) {
    throw new AppError("CONFIG_INVALID", `the agent's systemPromptFile "${rel}" cannot be read: ${(err as Error).message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new AppError("CONFIG_INVALID", `the agent's systemPromptFile "${rel}" is not a regular file`);
    if (st.size > MAX_PROMPT_FILE_BYTES) throw new AppError("CONFIG_INVALID", `the agent's systemPromptFile "${rel}" is larger than ${MAX_PROMPT_FILE_BYTES} bytes`);
    return fs.readFileSync(fd, "utf8");
  } finally {
    fs.closeSync(fd);
  }
}

/** The system prompt: the agent's own (inline or file), then the workspace's AGENTS.md and SOUL.md. */
export function systemPrompt(agent: EffectiveAgent, tenant: TenantScope, tenantRoot: string, files: FilesService): string {
  const parts: string[] = [];
  if (agent.systemPrompt) parts.push(agent.systemPrompt);
  else if (agent.systemPromptFile) parts.push(readPromptFile(tenantRoot, agent.systemPromptFile));
  for (const name of CONTEXT_FILES) {
    let text: string;
    try {
      const r = files.read(tenant, name, { length: MAX_PROMPT_FILE_BYTES });
      text = Buffer.from(r.bytes).toString("utf8");
    } catch (err) {
      // Absent, a directory, a link out of the workspace: a refusal is not context (the run goes on).
      if (err instanceof AppError) continue;
      throw err;
    }
    if (text.trim()) parts.push(`## ${name}\n\n${text}`);
  }
  return parts.join("\n\n");
}
