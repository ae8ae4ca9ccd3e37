// The built-in agent tools, by name. Adding one is a file in this folder and one entry here; the
// admin's `tools` list and each agent's allow-list choose among them.
import type { AgentTool } from "./tool.ts";

export const BUILTIN_TOOLS: readonly AgentTool[] = [];

export function builtinTool(name: string): AgentTool | undefined {
  return BUILTIN_TOOLS.find((t) => t.name === name);
}
