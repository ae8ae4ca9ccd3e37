// openclaw.plugin.json: what a plugin declares — its tools (name, description, input JSON Schema,
// the command run in the tenant's sandbox with the plugin folder read-only at /mnt/plugin, the
// egress tool whose allow-list it uses) and optionally MCP servers. Validated by a JSON Schema
// (TypeBox), after a depth cap and a refusal of reserved keys; then its claims are checked against
// the folder: a command naming a file of the plugin must name one that is there.
import { Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { DEFAULT_MAX_JSON_DEPTH, findReservedKey, jsonDepthExcess, RESERVED_KEY_MESSAGE } from "../../lib/json-safe.ts";
import { PackageProblem } from "./front-matter.ts";
import { PACKAGE_NAME_PATTERN, type LoadedPackage } from "./package.types.ts";

/** Where a plugin's folder is mounted (read-only) in the sandbox its tools run in. */
export const PLUGIN_MOUNT = "/mnt/plugin";
export const TOOL_PREFIX = "plugin__";
const MAX_SCHEMA_BYTES = 16 * 1024;
const strict = { additionalProperties: false } as const;
const Argv = T.Array(T.String({ minLength: 1, maxLength: 4096 }), { minItems: 1, maxItems: 64 });

export const PluginManifestSchema = T.Object(
  {
    name: T.String({ pattern: PACKAGE_NAME_PATTERN, description: "the plugin's name: its folder's" }),
    version: T.Optional(T.String({ minLength: 1, maxLength: 64 })),
    description: T.String({ minLength: 1, maxLength: 1024 }),
    tools: T.Optional(
      T.Array(
        T.Object(
          {
            name: T.String({ pattern: "^[a-z0-9][a-z0-9_-]{0,47}$", description: "seen by the agent as plugin__<plugin>__<name>" }),
            description: T.String({ minLength: 1, maxLength: 1024 }),
            inputSchema: T.Record(T.String({ maxLength: 128 }), T.Unknown(), { description: "JSON Schema of the arguments (type object)" }),
            command: T.Array(T.String({ minLength: 1, maxLength: 4096 }), { minItems: 1, maxItems: 64, description: `argv run in the tenant's sandbox (cwd /work, the plugin at ${PLUGIN_MOUNT}); the arguments arrive as JSON on stdin` }),
            egress: T.Optional(T.String({ pattern: "^[a-z0-9_.-]{1,64}$", description: "the tool whose egress allow-list (admin ceiling ∩ overlay) the command gets; none: no network" })),
            timeoutSeconds: T.Optional(T.Integer({ minimum: 1, maximum: 3600 })),
          },
          strict,
        ),
        { maxItems: 64 },
      ),
    ),
    mcpServers: T.Optional(T.Record(T.String({ pattern: PACKAGE_NAME_PATTERN }), T.Object({ command: Argv, env: T.Optional(T.Record(T.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]{0,127}$" }), T.String({ maxLength: 4096 }), { maxProperties: 32 })) }, strict), { maxProperties: 8, description: "stdio MCP servers run in the tenant's sandbox while the plugin is enabled, named <plugin>-<server> (modules/mcp)" })),
  },
  strict,
);

/** The manifest's text, checked; `files` are the package's file paths (relative, "/"-separated). */
export function parseManifest(text: string, folder: string, files: ReadonlySet<string>): Pick<LoadedPackage, "description" | "tools" | "mcpServers" | "version"> {
  const deep = jsonDepthExcess(text, DEFAULT_MAX_JSON_DEPTH);
  if (deep !== null) throw new PackageProblem(`openclaw.plugin.json nests deeper than ${DEFAULT_MAX_JSON_DEPTH} levels`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new PackageProblem("openclaw.plugin.json is not valid JSON");
  }
  const reserved = findReservedKey(raw);
  if (reserved) throw new PackageProblem(`openclaw.plugin.json: key ${JSON.stringify(String(reserved[reserved.length - 1]))} ${RESERVED_KEY_MESSAGE}`);
  if (!Value.Check(PluginManifestSchema, raw)) {
    const e = Value.Errors(PluginManifestSchema, raw).First();
    throw new PackageProblem(`openclaw.plugin.json${e?.path ? ` at ${e.path}` : ""}: ${e?.message ?? "does not match the plugin manifest schema"}`);
  }
  const m = raw as typeof PluginManifestSchema.static;
  if (m.name !== folder) throw new PackageProblem(`openclaw.plugin.json names the plugin ${JSON.stringify(m.name)}, but its folder is ${JSON.stringify(folder)}`);
  const seen = new Set<string>();
  for (const t of m.tools ?? []) {
    if (seen.has(t.name)) throw new PackageProblem(`openclaw.plugin.json declares the tool ${JSON.stringify(t.name)} twice`);
    seen.add(t.name);
    const full = `${TOOL_PREFIX}${m.name}__${t.name}`;
    if (full.length > 64) throw new PackageProblem(`the tool name ${full} is longer than 64 characters (providers refuse it); shorten the plugin's or the tool's name`);
    if (t.inputSchema.type !== "object") throw new PackageProblem(`tool ${JSON.stringify(t.name)}: inputSchema must be a JSON Schema of type "object"`);
    if (Buffer.byteLength(JSON.stringify(t.inputSchema)) > MAX_SCHEMA_BYTES) throw new PackageProblem(`tool ${JSON.stringify(t.name)}: inputSchema is larger than ${MAX_SCHEMA_BYTES} bytes`);
    checkArgv(t.command, files, `tool ${JSON.stringify(t.name)}`);
  }
  for (const [name, s] of Object.entries(m.mcpServers ?? {})) {
    // The mcp module names its tools mcp__<plugin>-<server>__<tool>, at most 64 characters: a prefix
    // leaving no room is refused here, at install, rather than every tool skipped later.
    const prefix = `mcp__${m.name}-${name}__`;
    if (prefix.length >= 64) throw new PackageProblem(`MCP server ${JSON.stringify(name)}: its tools would be named ${prefix}<tool>, longer than 64 characters (providers refuse it); shorten the plugin's or the server's name`);
    checkArgv(s.command, files, `MCP server ${JSON.stringify(name)}`);
  }
  return { description: m.description, tools: m.tools ?? [], mcpServers: m.mcpServers ?? {}, ...(m.version ? { version: m.version } : {}) };
}

/** An argument naming a file of the plugin (under /mnt/plugin/) must name one the plugin has. */
function checkArgv(argv: readonly string[], files: ReadonlySet<string>, what: string): void {
  for (const a of argv) {
    if (a === PLUGIN_MOUNT || !a.startsWith(`${PLUGIN_MOUNT}/`)) continue;
    const rel = a.slice(PLUGIN_MOUNT.length + 1);
    if (!files.has(rel)) throw new PackageProblem(`${what}'s command names ${a}, which the plugin does not have`);
  }
}
