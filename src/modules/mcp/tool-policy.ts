// Which of a tenant's tools /mcp exposes: the same rules an agent's tools obey — the admin's enabled
// tools (`agents.tools`, default the built-ins) narrowed by the tenant's `tools.allow` — so a client of
// /mcp gets nothing an agent of the tenant could not be given. A trailing `*` in either list matches
// by prefix (`mcp__*`), as the agents' allow-lists do for source tools.
import { enabledAgentTools, listNames } from "../../config/agents-schema.ts";
import type { GatewayConfig } from "../../config/schema.ts";
import type { Overlay } from "../overlays/overlay.schema.ts";

/** Whether `name` is a tool the admin enables and the tenant's `tools.allow` (when set) keeps. */
export function toolExposed(config: GatewayConfig, overlay: Overlay, name: string): boolean {
  if (!listNames(enabledAgentTools(config), name)) return false;
  const allow = overlay.tools?.allow;
  return !allow || listNames(allow, name);
}
