// Validates a tenant overlay: admin-only and unknown keys first (walking the two schemas side by
// side), then types, then the admin's ceilings, then every path through the path resolver.
import fs from "node:fs";
import path from "node:path";
import { Kind, type TSchema } from "@sinclair/typebox";
import { GatewayConfigSchema, type GatewayConfig } from "../../config/schema.ts";
import { schemaProblems, type Problem } from "../../config/load.ts";
import { PathError, resolveInRoot } from "../paths/path-resolver.ts";
import { allowListRefusal } from "../../lib/egress-dial.ts";
import { parseEgressEntry, type EgressRule } from "../../lib/egress-rules.ts";
import { sandboxCeilings } from "../../config/sandbox-limits.ts";
import { agentCeilings, enabledAgentTools, listCovers } from "../../config/agents-schema.ts";
import { OverlaySchema, type Overlay } from "./overlay.schema.ts";
import { findReservedKey, RESERVED_KEY_MESSAGE } from "../../lib/json-safe.ts";

type Schema = TSchema & { properties?: Record<string, TSchema>; patternProperties?: Record<string, TSchema>; anyOf?: TSchema[]; items?: TSchema };

function child(schema: Schema | undefined, key: string): Schema | undefined {
  if (!schema) return undefined;
  if (schema.anyOf) {
    for (const s of schema.anyOf) {
      const c = child(s as Schema, key);
      if (c) return c;
    }
    return undefined;
  }
  if (schema.properties && key in schema.properties) return schema.properties[key] as Schema;
  if (schema.patternProperties) {
    for (const [pattern, s] of Object.entries(schema.patternProperties)) {
      if (new RegExp(pattern).test(key)) return s as Schema;
    }
  }
  return undefined;
}

function isObjectSchema(s: Schema | undefined): boolean {
  return !!s && (s[Kind] === "Object" || s[Kind] === "Record" || !!s.anyOf?.some((m) => isObjectSchema(m as Schema)));
}

/** Keys the overlay may not set: admin-only if the gateway config has that path, unknown otherwise. */
function keyProblems(value: unknown, overlay: Schema | undefined, admin: Schema | undefined, at: string[], out: Problem[]): void {
  if (!value || typeof value !== "object" || Array.isArray(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const o = child(overlay, key);
    const a = child(admin, key);
    const here = [...at, key];
    if (!o) {
      if (a) adminLeaves(v, here, out);
      else out.push({ path: here, message: "is not a known key" });
      continue;
    }
    if (isObjectSchema(o)) keyProblems(v, o, a, here, out);
  }
}

/** Names every leaf under an admin-only key, so the message points at the setting itself. */
function adminLeaves(value: unknown, at: string[], out: Problem[]): void {
  if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) adminLeaves(v, [...at, k], out);
  } else {
    out.push({ path: at, message: "is admin-only" });
  }
}

export interface OverlayContext {
  tenantRoot: string;
  config: GatewayConfig;
}

export function overlayProblems(raw: unknown, ctx: OverlayContext): Problem[] {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return [{ path: [], message: "must be a JSON object" }];
  const reserved = findReservedKey(raw);
  if (reserved) return [{ path: reserved, message: RESERVED_KEY_MESSAGE }];
  const out: Problem[] = [];
  keyProblems(raw, OverlaySchema as Schema, GatewayConfigSchema as Schema, [], out);
  if (out.length > 0) return out;
  out.push(...schemaProblems(OverlaySchema, raw));
  if (out.length > 0) return out;
  const o = raw as Overlay;
  out.push(...ceilingProblems(o, ctx.config));
  out.push(...pathProblems(o, ctx.tenantRoot));
  return out;
}

function ceilingProblems(o: Overlay, c: GatewayConfig): Problem[] {
  const out: Problem[] = [];
  const models = Object.keys(c.models);
  o.models?.allow?.forEach((m, i) => {
    if (!models.includes(m)) out.push({ path: ["models", "allow", i], message: `names model "${m}", which the gateway does not offer` });
  });
  if (o.models?.default) {
    const allowed = o.models.allow ?? models;
    if (!allowed.includes(o.models.default)) out.push({ path: ["models", "default"], message: `"${o.models.default}" is not among the allowed models` });
  }
  const modes = c.sandbox.allowedModes ?? ["bwrap"];
  if (o.sandbox?.mode && !modes.includes(o.sandbox.mode)) {
    out.push({ path: ["sandbox", "mode"], message: `"${o.sandbox.mode}" is not allowed by the gateway (allowed: ${modes.join(", ")})` });
  }
  const ceilings = sandboxCeilings(c);
  for (const [k, v] of Object.entries(o.sandbox?.limits ?? {})) {
    const max = (ceilings as unknown as Record<string, number | undefined>)[k];
    if (max !== undefined && typeof v === "number" && v > max) out.push({ path: ["sandbox", "limits", k], message: `${v} exceeds the gateway's ceiling of ${max}` });
  }
  out.push(...agentProblems(o, c));
  out.push(...mcpServerProblems(o, c));
  for (const [tool, entries] of Object.entries(o.tools?.egress ?? {})) {
    const ceiling = c.sandbox.egress?.tools?.[tool] ?? [];
    entries.forEach((e, i) => {
      try {
        parseEgressEntry(e);
      } catch (err) {
        out.push({ path: ["tools", "egress", tool, i], message: (err as Error).message });
        return;
      }
      if (!ceiling.some((allowed) => egressCovers(allowed, e))) {
        out.push({ path: ["tools", "egress", tool, i], message: `"${e}" is outside the gateway's egress ceiling for "${tool}"` });
      }
    });
  }
  return out;
}

/** Headers a tenant may not set on its MCP servers' requests: the transport's and the connection's own. */
const MCP_RESERVED_HEADERS = new Set(["host", "content-length", "content-type", "accept", "connection", "transfer-encoding", "upgrade", "te", "trailer", "keep-alive", "proxy-authorization", "mcp-session-id", "mcp-protocol-version", "last-event-id"]);

/** Each `mcpServers.<name>`: a command (stdio, in the sandbox), or an http(s) URL inside the admin's gateway.mcp.remoteAllow with no reserved header. */
function mcpServerProblems(o: Overlay, c: GatewayConfig): Problem[] {
  const out: Problem[] = [];
  for (const [name, s] of Object.entries(o.mcpServers ?? {})) {
    if ((s.url === undefined) === (s.command === undefined)) {
      out.push({ path: ["mcpServers", name], message: "needs either url (a remote server) or command (a stdio server in the sandbox), not both" });
      continue;
    }
    if (s.command !== undefined) {
      if (s.headers) out.push({ path: ["mcpServers", name, "headers"], message: "is for remote servers (url) only" });
      continue;
    }
    if (s.env) out.push({ path: ["mcpServers", name, "env"], message: "is for stdio servers (command) only" });
    let url: URL;
    try {
      url = new URL(s.url!);
    } catch {
      out.push({ path: ["mcpServers", name, "url"], message: "is not an absolute URL" });
      continue;
    }
    if (url.username || url.password) out.push({ path: ["mcpServers", name, "url"], message: "must not carry credentials (use headers)" });
    else {
      const why = allowListRefusal(url, c.gateway.mcp.remoteAllow, "remote MCP allow-list (gateway.mcp.remoteAllow)");
      if (why) out.push({ path: ["mcpServers", name, "url"], message: why });
    }
    for (const [h, v] of Object.entries(s.headers ?? {})) {
      if (MCP_RESERVED_HEADERS.has(h.toLowerCase())) out.push({ path: ["mcpServers", name, "headers", h], message: "is set by the gateway, not by the overlay" });
      // A header value is one line of visible characters: a CR, LF or other control character would be refused by the transport at every connect.
      else if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(v)) out.push({ path: ["mcpServers", name, "headers", h], message: "holds a control character (CR, LF, NUL, …); a header value is one line" });
    }
  }
  return out;
}

/** Each `agents.<id>`: a model the tenant may use, tools the gateway enables, limits within the ceilings. */
function agentProblems(o: Overlay, c: GatewayConfig): Problem[] {
  const out: Problem[] = [];
  const agents = Object.entries(o.agents ?? {});
  if (agents.length > c.agents.maxAgentsPerTenant) out.push({ path: ["agents"], message: `defines ${agents.length} agents; the gateway allows ${c.agents.maxAgentsPerTenant}` });
  const models = o.models?.allow ?? Object.keys(c.models);
  const tools = enabledAgentTools(c);
  const ceilings = agentCeilings(c) as unknown as Record<string, number>;
  const modes = c.sandbox.allowedModes ?? ["bwrap"];
  for (const [id, a] of agents) {
    if (a.model !== undefined && !models.includes(a.model)) out.push({ path: ["agents", id, "model"], message: `"${a.model}" is not among the models this tenant may use` });
    a.tools?.forEach((t, i) => {
      if (!listCovers(tools, t)) out.push({ path: ["agents", id, "tools", i], message: `"${t}" is not a tool the gateway enables (enabled: ${tools.join(", ")})` });
    });
    for (const [k, v] of Object.entries(a.limits ?? {})) {
      const max = ceilings[k];
      if (max !== undefined && typeof v === "number" && v > max) out.push({ path: ["agents", id, "limits", k], message: `${v} exceeds the gateway's ceiling of ${max}` });
    }
    if (a.sandboxMode && !modes.includes(a.sandboxMode)) out.push({ path: ["agents", id, "sandboxMode"], message: `"${a.sandboxMode}" is not allowed by the gateway (allowed: ${modes.join(", ")})` });
    if (a.systemPrompt !== undefined && a.systemPromptFile !== undefined) out.push({ path: ["agents", id, "systemPromptFile"], message: "set either systemPrompt or systemPromptFile, not both" });
  }
  return out;
}

/** Does the admin's ceiling entry cover the tenant's entry? Hosts: exact or *.suffix; ports: exact or *. */
export function egressCovers(ceiling: string, entry: string): boolean {
  let c: EgressRule;
  let e: EgressRule;
  try {
    c = parseEgressEntry(ceiling);
    e = parseEgressEntry(entry);
  } catch {
    return false;
  }
  if (c.port !== "*" && c.port !== e.port) return false;
  if (c.host === e.host && c.wildcard === e.wildcard) return true;
  if (c.host === e.host && !c.wildcard) return false;
  return c.wildcard && !e.ip && e.host.endsWith(`.${c.host}`);
}

/** The first component of `rel` (under `root`) that is a symbolic link, or null. */
function linkOnPath(root: string, rel: string): string | null {
  let p = fs.realpathSync(root);
  const done: string[] = [];
  for (const seg of rel.split("/").filter((s) => s !== "" && s !== ".")) {
    p = path.join(p, seg);
    done.push(seg);
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st) return null;
    if (st.isSymbolicLink()) return done.join("/");
  }
  return null;
}

function pathProblems(o: Overlay, root: string): Problem[] {
  const out: Problem[] = [];
  const check = (value: string, at: (string | number)[]) => {
    try {
      return resolveInRoot(root, value, { leaf: "inside" });
    } catch (err) {
      if (err instanceof PathError) out.push({ path: at, message: `${err.message.replace(/^path /, "")} (paths must stay inside the tenant directory)` });
      else throw err;
      return null;
    }
  };
  if (o.agent?.systemPromptFile) check(o.agent.systemPromptFile, ["agent", "systemPromptFile"]);
  for (const [id, a] of Object.entries(o.agents ?? {})) if (a.systemPromptFile) check(a.systemPromptFile, ["agents", id, "systemPromptFile"]);
  o.plugins?.paths?.forEach((p, i) => check(p, ["plugins", "paths", i]));
  o.sandbox?.mounts?.forEach((m, i) => {
    const at = ["sandbox", "mounts", i];
    const r = check(m.source, [...at, "source"]);
    // Sandboxes can change the workspace (and could change a writable mount), so a mount from there
    // could be a link swapped in to aim a later bind at the host: mounts come from elsewhere,
    // read-only, with no link anywhere on the way. The sandbox service checks all of this again,
    // on disk, at every run (sandbox/mounts.ts).
    const first = r ? m.source.split("/").find((s) => s !== "" && s !== ".") : undefined;
    if (r && r.relative === "") out.push({ path: [...at, "source"], message: "names the tenant directory itself, which holds the workspace; mount a directory inside it" });
    else if (r && (first === "workspace" || r.relative === "workspace" || r.relative.startsWith("workspace/"))) {
      out.push({ path: [...at, "source"], message: "is in the workspace, which sandboxes can change (it is at /work already); mount a directory outside it" });
    } else if (r) {
      const link = linkOnPath(root, m.source);
      if (link) out.push({ path: [...at, "source"], message: `goes through the symbolic link "${link}"; links are refused anywhere on a mount source` });
    }
    if (m.readOnly === false) out.push({ path: [...at, "readOnly"], message: "must be true: sandbox mounts are read-only (only /work is writable)" });
  });
  return out;
}
