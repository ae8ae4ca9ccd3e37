// What a skill and a plugin are to the gateway: a folder named by a checked name, holding its marker
// file (SKILL.md, openclaw.plugin.json) and what it needs, under tenants/<id>/skills|plugins/ or the
// operator's <home>/skills/. A package that cannot be read is listed with status "error" and the
// reason; it is never used.
import type { GatewayConfig } from "../../config/schema.ts";

export type PackageKind = "skill" | "plugin";
export const KINDS: readonly PackageKind[] = ["skill", "plugin"];

/** The folder each kind lives in under the tenant's directory (declared in tenantData.dirs). */
export const KIND_DIR: Record<PackageKind, string> = { skill: "skills", plugin: "plugins" };
export const MARKER: Record<PackageKind, string> = { skill: "SKILL.md", plugin: "openclaw.plugin.json" };

/** A package's name: its folder's name, the name the agent sees, the `<plugin>` of plugin__<plugin>__<tool>. */
export const PACKAGE_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
export const PACKAGE_NAME_PATTERN = PACKAGE_NAME.source;

export interface PackageCaps {
  maxArchiveBytes: number;
  maxFiles: number;
  maxBytes: number;
  maxSkillMdBytes: number;
  maxManifestBytes: number;
}

export const capsOf = (c: GatewayConfig): PackageCaps => c.gateway.skills;

export interface PluginToolDecl {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  command: string[];
  egress?: string;
  timeoutSeconds?: number;
}

export interface LoadedPackage {
  kind: PackageKind;
  name: string;
  source: "tenant" | "operator";
  status: "ok" | "error";
  /** Why the package cannot be used (status "error"). */
  error?: string;
  description: string;
  files: number;
  bytes: number;
  /** Skills: the SKILL.md body (after the front matter). */
  body?: string;
  /** Plugins: the declared tools and MCP servers. */
  tools?: PluginToolDecl[];
  mcpServers?: Record<string, { command: string[]; env?: Record<string, string> }>;
  version?: string;
}

/** A package as the list surfaces show it. */
export interface PackageView {
  kind: PackageKind;
  name: string;
  source: "tenant" | "operator";
  status: "ok" | "error";
  error: string | null;
  enabled: boolean;
  description: string;
  files: number;
  bytes: number;
  version: string | null;
  tools: string[];
  installedAt: string | null;
  sha256: string | null;
}
