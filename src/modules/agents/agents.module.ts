// Agents: a tenant's assistant — sessions, a tool-using run loop over the router, its built-in tools.
// (Issue 13 is building it up; so far this module only carries the tool contract and registry.)
import { defineModule } from "../module.ts";
import { BUILTIN_TOOLS } from "./tools/registry.ts";

export const agentsModule = defineModule({
  name: "agents",
  needs: [],
  create() {
    return { agentTools: { list: () => BUILTIN_TOOLS } };
  },
});
