// Skills and plugins: what a tenant adds to its agents. Skills (SKILL.md folders, the Agent Skills
// format) give the agent instructions it reads on demand (skill_read) and scripts it runs through
// exec; plugins (openclaw.plugin.json) declare tools whose commands run in the tenant's sandbox. The
// packages are files under tenants/<id>/skills|plugins/ (and the operator's <home>/skills/), read
// by a hardened loader that never executes or imports them; their state is the ext_packages rows.
// Backed up, restored and deleted with the tenant.
import { agentsModule } from "../agents/agents.module.ts";
import { auditModule } from "../audit/audit.module.ts";
import { diskModule } from "../disk/disk.module.ts";
import { defineModule } from "../module.ts";
import { skillsAdminRoutes } from "./skills.admin.ts";
import { skillsCli } from "./skills.cli.ts";
import { skillsRpc } from "./skills.rpc.ts";
import { createSkillsService } from "./skills.service.ts";
import { skillsToolSource } from "./skills.tools.ts";

export const skillsModule = defineModule({
  name: "skills",
  needs: [auditModule, diskModule, agentsModule],
  create(platform, { audit, disk, agentTools }) {
    const skills = createSkillsService({ home: platform.home, sqlite: platform.handle.sqlite, clock: platform.clock, config: platform.config, audit, disk, log: platform.log });
    agentTools.addSource(skillsToolSource(skills));
    return { skills };
  },
}).with({
  console: { pages: [{ id: "skills", title: "Skills and plugins", face: "tenant", order: 80 }] },
  admin: skillsAdminRoutes,
  rpc: skillsRpc,
  cli: skillsCli,
  tenantData: {
    tables: [{ table: "ext_packages", tenantColumn: "tenant_id" }],
    dirs: ["skills", "plugins"],
    onDelete: ({ skills }, tenant) => skills.forget(tenant),
    onRestore: ({ skills }, tenant) => skills.forget(tenant),
  },
});
