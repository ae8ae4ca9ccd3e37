// What the agent gets from skills and plugins (a ToolSource named "skills"): `skill_read {name}`
// returns an enabled skill's instructions; each enabled plugin's tools appear as
// plugin__<plugin>__<tool>, their commands run in the tenant's sandbox — same mode, limits and run
// slot as exec — with the plugin folder read-only at /mnt/plugin, the arguments as JSON on stdin,
// network only from the egress tool the manifest names (admin ceiling ∩ overlay), output capped.
// The system prompt of an agent that may call skill_read lists the enabled skills (name and
// description), and exec sees each of them read-only at /mnt/skills/<name>/ so their scripts run:
// the tenant's own from tenants/<id>/skills/<name>, the operator's from <home>/skills/<name> (a
// second mount root, held to the same checks — sandbox/mounts.ts); a tenant's skill of the same
// name hides the operator's, and a disabled skill is not mounted.
// Like every tool, these obey the admin's enabled tools and the agent's allow-list.
import { Type as T } from "@sinclair/typebox";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import { capResult, defineTool, describeError, fail, ok } from "../agents/tools/common.ts";
import { formatRun } from "../agents/tools/exec.ts";
import type { AgentTool, ToolSource } from "../agents/tools/tool.ts";
import type { FeatureMount } from "../sandbox/sandbox.types.ts";
import { PLUGIN_MOUNT, TOOL_PREFIX } from "./manifest.ts";
import { KIND_DIR, PACKAGE_NAME_PATTERN, type PluginToolDecl } from "./package.types.ts";
import type { ActivePackage, SkillsService } from "./skills.service.ts";

export const SKILL_READ = "skill_read";
export const SKILLS_MOUNT = "/mnt/skills";
const DEFAULT_TIMEOUT = 60;
const MAX_ARGS_BYTES = 1024 * 1024;
/** Skills listed in the system prompt at most (the rest are named by skills.list), and each description's characters there. */
const MAX_LISTED = 100;
const MAX_LISTED_DESCRIPTION = 300;
/**
 * Plugin tools offered to one tenant's agents at most (providers take about 128 tools a request, and
 * each call carries every offered tool's schema): the first, by plugin name, are offered.
 */
export const MAX_PLUGIN_TOOLS = 128;

function skillReadTool(skills: SkillsService): AgentTool {
  return defineTool({
    name: SKILL_READ,
    description: "Reads one of your skills: its full instructions (SKILL.md). The skills you have are listed in the system prompt; a skill's files are under /mnt/skills/<name>/ for exec (read-only).",
    parameters: T.Object({ name: T.String({ minLength: 1, maxLength: 64, pattern: PACKAGE_NAME_PATTERN }) }, { additionalProperties: false }),
    run(args, ctx) {
      const s = skills.active(ctx.tenant, "skill").find((p) => p.name === args.name);
      if (!s) return fail(`NOT_FOUND: no enabled skill is named ${JSON.stringify(args.name)}`);
      return ok(`# Skill: ${s.name}\n${s.description}\n\n${s.body ?? ""}\n\n(Its files are at ${SKILLS_MOUNT}/${s.name}/ for exec, read-only.)`);
    },
  });
}

/** Where exec sees a skill: /mnt/skills/<name>, from the tenant's skills folder or the operator's. */
export function skillMount(s: ActivePackage): FeatureMount {
  return s.source === "tenant"
    ? { source: `${KIND_DIR.skill}/${s.name}`, target: `${SKILLS_MOUNT}/${s.name}`, readOnly: true, optional: true }
    : { source: s.name, target: `${SKILLS_MOUNT}/${s.name}`, readOnly: true, root: "operator-skills", optional: true };
}

function pluginTool(plugin: ActivePackage, t: PluginToolDecl): AgentTool {
  const name = `${TOOL_PREFIX}${plugin.name}__${t.name}`;
  return {
    name,
    description: `${t.description} (plugin ${plugin.name})`,
    parameters: t.inputSchema,
    async run(args, ctx) {
      try {
        if (ctx.signal.aborted) return fail("ABORTED: the run was stopped before the tool started");
        const input = Buffer.from(JSON.stringify(args ?? {}), "utf8");
        if (input.length > MAX_ARGS_BYTES) return fail(`INVALID_PARAMS: the arguments are larger than ${MAX_ARGS_BYTES} bytes`);
        const left = Math.floor(ctx.secondsLeft);
        if (left < 1) return fail("UNAVAILABLE: no time is left in this turn to run the tool");
        const { sandbox } = ctx.services;
        const info = sandbox.info(ctx.tenant);
        const timeoutSeconds = Math.max(1, Math.min(t.timeoutSeconds ?? DEFAULT_TIMEOUT, left, info.limits.timeoutSeconds));
        const r = await sandbox.run({
          tenant: ctx.tenant,
          command: t.command,
          stdin: input,
          env: { PLUGIN_NAME: plugin.name, PLUGIN_TOOL: t.name },
          timeoutSeconds,
          mode: ctx.sandboxMode,
          // Network only when the named tool has an allow-list for this tenant (admin ceiling ∩ overlay).
          tool: t.egress && info.egress[t.egress] ? t.egress : undefined,
          signal: ctx.signal,
          token: ctx.token,
          origin: "rpc",
          mounts: [{ source: `${KIND_DIR.plugin}/${plugin.name}`, target: PLUGIN_MOUNT, readOnly: true }],
        });
        return capResult(formatRun(r, ctx.maxOutputBytes, timeoutSeconds), ctx.maxOutputBytes);
      } catch (err) {
        return capResult(fail(describeError(err)), ctx.maxOutputBytes);
      }
    },
  };
}

/** The ToolSource the skills module registers with the agents module. */
export function skillsToolSource(skills: SkillsService): ToolSource {
  const read = skillReadTool(skills);
  // Plugin tools are rebuilt only when the loaded package changes (the service's cache keeps it).
  const built = new WeakMap<ActivePackage, AgentTool[]>();
  return {
    name: "skills",
    tools(tenant: TenantScope) {
      const out: AgentTool[] = [read];
      for (const p of skills.active(tenant, "plugin")) {
        let tools = built.get(p);
        if (!tools) {
          tools = (p.tools ?? []).map((t) => pluginTool(p, t));
          built.set(p, tools);
        }
        out.push(...tools.slice(0, MAX_PLUGIN_TOOLS + 1 - out.length));
        if (out.length > MAX_PLUGIN_TOOLS) break;
      }
      return out;
    },
    prompt(tenant, allows) {
      if (!allows(SKILL_READ)) return null;
      const list = skills.active(tenant, "skill");
      if (list.length === 0) return null;
      const lines = list.slice(0, MAX_LISTED).map((s) => `- ${s.name}: ${s.description.replace(/\s+/g, " ").slice(0, MAX_LISTED_DESCRIPTION)}`);
      return `## Skills\n\nRead a skill's instructions with ${SKILL_READ} before you use it.\n\n${lines.join("\n")}`;
    },
    mounts(tenant) {
      // One read-only mount per enabled skill the tenant sees (its own, else the operator's).
      return skills.active(tenant, "skill").map(skillMount);
    },
  };
}
