// The built-in agent tools, by name. Adding one is a file in this folder and one entry here; the
// admin's `tools` list and each agent's allow-list choose among them.
import { execTool } from "./exec.ts";
import { fileEditTool } from "./file-edit.ts";
import { fileListTool } from "./file-list.ts";
import { fileReadTool } from "./file-read.ts";
import { fileSearchTool } from "./file-search.ts";
import { fileWriteTool } from "./file-write.ts";
import { httpFetchTool } from "./http-fetch.ts";
import { sessionHistoryTool } from "./session-history.ts";
import { sessionsListTool } from "./sessions-list.ts";
import type { AgentTool } from "./tool.ts";

export const BUILTIN_TOOLS: readonly AgentTool[] = [fileReadTool, fileWriteTool, fileEditTool, fileListTool, fileSearchTool, execTool, httpFetchTool, sessionsListTool, sessionHistoryTool];

export function builtinTool(name: string): AgentTool | undefined {
  return BUILTIN_TOOLS.find((t) => t.name === name);
}
