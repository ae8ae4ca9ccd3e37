// The MCP servers a tenant's agents get, from both places they can be declared: the tenant's overlay
// (`mcpServers.<name>`, remote or stdio) and its enabled plugins (`openclaw.plugin.json`
// `mcpServers.<server>`, stdio only), the latter named `<plugin>-<server>` and run in the tenant's
// sandbox exactly as an overlay stdio server is, plus the plugin folder read-only at /mnt/plugin (as
// the plugin's own tools get it). A name two declarations share is used once: the overlay's wins (the
// tenant wrote it there by hand), then plugins by name; the loser is listed with the reason, never
// started. A reinstalled plugin (another archive digest) is a changed server: it is started afresh.
import type { TenantScope } from "../../edge/tenant-scope.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import { PLUGIN_MOUNT } from "../skills/manifest.ts";
import { KIND_DIR } from "../skills/package.types.ts";
import type { SkillsService } from "../skills/skills.service.ts";

/** Tool names providers accept are at most 64 characters: `mcp__<name>__` must leave room for one. */
export const MAX_TOOL_NAME = 64;
export const toolPrefix = (server: string) => `mcp__${server}__`;
/**
 * Plugin MCP servers used per tenant at most (as many as the overlay may name): each is a sandboxed
 * process started at a run's start, so the count a tenant can make the gateway start is bounded here,
 * whatever number of plugins it installs. The rest, by plugin name, are listed with the reason.
 */
export const MAX_PLUGIN_SERVERS = 16;

export interface ServerSpec {
  url?: string;
  headers?: Record<string, string>;
  command?: string[];
  env?: Record<string, string>;
  /** Read-only folders of the tenant's the stdio server sees (a plugin's server: its plugin at /mnt/plugin). */
  mounts?: { source: string; target: string; readOnly: true }[];
}

export interface DeclaredServer {
  name: string;
  spec: ServerSpec;
  source: "overlay" | "plugin";
  /** The plugin that declares it (source "plugin"). */
  plugin: string | null;
  /** Fingerprint parts beyond the spec (the plugin's archive digest). */
  revision: string;
  /** Why it is not used (a name taken, a name too long): listed, never started. */
  refused: string | null;
}

export function declaredServers(deps: { overlays: OverlaysService; skills: SkillsService }, tenant: TenantScope): DeclaredServer[] {
  const out: DeclaredServer[] = [];
  const taken = new Map<string, string>();
  let overlay: [string, ServerSpec][] = [];
  try {
    overlay = Object.entries(deps.overlays.current(tenant).mcpServers ?? {});
  } catch {
    // an invalid overlay: none of its servers (calls that need it say why)
  }
  for (const [name, spec] of overlay) {
    out.push({ name, spec, source: "overlay", plugin: null, revision: "", refused: null });
    taken.set(name, "the overlay's server of that name");
  }
  let plugins: ReturnType<SkillsService["active"]> = [];
  let digests = new Map<string, string>();
  try {
    plugins = deps.skills.active(tenant, "plugin").filter((p) => p.mcpServers && Object.keys(p.mcpServers).length > 0);
    if (plugins.length) digests = new Map(deps.skills.list(tenant, "plugin").map((v) => [v.name, `${v.sha256 ?? ""}@${v.installedAt ?? ""}`]));
  } catch {
    // the skills folder cannot be read now: no plugin servers (skills.list says why)
  }
  let used = 0;
  for (const p of [...plugins].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    for (const [server, decl] of Object.entries(p.mcpServers!)) {
      const name = `${p.name}-${server}`;
      const spec: ServerSpec = { command: decl.command, ...(decl.env ? { env: decl.env } : {}), mounts: [{ source: `${KIND_DIR.plugin}/${p.name}`, target: PLUGIN_MOUNT, readOnly: true }] };
      let refused: string | null = null;
      const holder = taken.get(name);
      if (holder) refused = `the name ${name} is already ${holder}'s; rename the plugin's server`;
      else if (toolPrefix(name).length >= MAX_TOOL_NAME) refused = `its tools would be named ${toolPrefix(name)}<tool>, longer than ${MAX_TOOL_NAME} characters (providers refuse them); shorten the plugin's or the server's name`;
      else if (used >= MAX_PLUGIN_SERVERS) refused = `this tenant's enabled plugins declare more than ${MAX_PLUGIN_SERVERS} MCP servers; only the first ${MAX_PLUGIN_SERVERS} (by plugin name) are used — disable a plugin to use this one`;
      if (!holder) taken.set(name, `plugin ${p.name}`);
      if (!refused) used++;
      out.push({ name, spec, source: "plugin", plugin: p.name, revision: digests.get(p.name) ?? "", refused });
    }
  }
  return out;
}
