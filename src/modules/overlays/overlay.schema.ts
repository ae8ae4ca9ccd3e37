// Tenant config overlay (tenants/<id>/openclaw.json): the allow-list of what a tenant may set.
// Everything else is refused at load, naming the file and the key path; nothing is silently dropped.
import { Type as T, type Static } from "@sinclair/typebox";
import { AgentLimits, ToolEntry } from "../../config/agents-schema.ts";
import { EgressEntry, SandboxLimits, SandboxModes } from "../../config/schema.ts";

const strict = { additionalProperties: false } as const;

/** A path relative to the tenant root; resolved by the one path resolver when the overlay loads. */
const TenantPath = T.String({ minLength: 1, maxLength: 4096, description: "path relative to the tenant directory", "x-tenant-path": true });

const MountTarget = T.String({
  pattern: "^/mnt(/(?!\\.\\.?(/|$))[A-Za-z0-9._-]+)+$",
  description: "where the mount appears inside the sandbox, under /mnt",
});

/** An agent id in a tenant's overlay: the admin's own keys under `agents` are not agent ids. */
export const OVERLAY_AGENT_ID = "^(?!(defaults|ceilings|tools)$)[a-z0-9][a-z0-9_-]{0,63}$";

const AgentOverlay = T.Object(
  {
    model: T.Optional(T.String({ minLength: 1, description: "among the models the tenant may use" })),
    systemPrompt: T.Optional(T.String({ maxLength: 65_536 })),
    systemPromptFile: T.Optional(TenantPath),
    tools: T.Optional(T.Array(ToolEntry, { maxItems: 200, description: "among the tools the gateway enables; an entry may end in * (plugin__*)" })),
    limits: T.Optional(AgentLimits),
    sandboxMode: T.Optional(T.Union(SandboxModes.map((m) => T.Literal(m)))),
  },
  strict,
);

export const OverlaySchema = T.Object(
  {
    $schema: T.Optional(T.String()),
    models: T.Optional(
      T.Object(
        {
          allow: T.Optional(T.Array(T.String({ minLength: 1 }), { maxItems: 1000, description: "narrows the admin's model list" })),
          default: T.Optional(T.String({ minLength: 1 })),
        },
        strict,
      ),
    ),
    agent: T.Optional(
      T.Object(
        {
          maxTokens: T.Optional(T.Integer({ minimum: 1, maximum: 10_000_000 })),
          systemPrompt: T.Optional(T.String({ maxLength: 65_536 })),
          systemPromptFile: T.Optional(TenantPath),
        },
        strict,
      ),
    ),
    agents: T.Optional(T.Record(T.String({ pattern: OVERLAY_AGENT_ID }), AgentOverlay, { description: "the tenant's agents by id (`main` exists by default)" })),
    tools: T.Optional(
      T.Object(
        {
          allow: T.Optional(T.Array(ToolEntry, { maxItems: 200 })),
          egress: T.Optional(T.Record(T.String({ pattern: "^[a-z0-9_.-]{1,64}$" }), T.Array(EgressEntry, { maxItems: 200 }))),
        },
        strict,
      ),
    ),
    sandbox: T.Optional(
      T.Object(
        {
          mode: T.Optional(T.Union(SandboxModes.map((m) => T.Literal(m)))),
          limits: T.Optional(SandboxLimits),
          mounts: T.Optional(
            T.Array(T.Object({ source: TenantPath, target: MountTarget, readOnly: T.Optional(T.Boolean()) }, strict), { maxItems: 32 }),
          ),
        },
        strict,
      ),
    ),
    plugins: T.Optional(T.Object({ paths: T.Optional(T.Array(TenantPath, { maxItems: 100 })) }, strict)),
    mcpServers: T.Optional(
      T.Record(
        T.String({ pattern: "^[a-z0-9][a-z0-9-]{0,31}$" }),
        T.Object(
          {
            url: T.Optional(T.String({ minLength: 8, maxLength: 2048, pattern: "^https?://", description: "a remote server's Streamable HTTP endpoint; its host:port must be in the gateway's gateway.mcp.remoteAllow" })),
            command: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 4096 }), { minItems: 1, maxItems: 64, description: "a stdio server: the argv run in the tenant's sandbox (cwd /work), spoken to over its stdin and stdout" })),
            env: T.Optional(T.Record(T.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]{0,63}$" }), T.String({ maxLength: 4096 }), { maxProperties: 32, description: "a stdio server's environment variables" })),
            headers: T.Optional(T.Record(T.String({ pattern: "^[A-Za-z0-9-]{1,64}$" }), T.String({ maxLength: 4096 }), { maxProperties: 16, description: "sent with every request (e.g. Authorization)" })),
          },
          strict,
        ),
        { maxProperties: 16, description: "MCP servers — remote (url) or stdio in the tenant's sandbox (command) — whose tools the tenant's agents get as mcp__<name>__<tool> (modules/mcp)" },
      ),
    ),
  },
  { ...strict, $id: "TenantOverlay", title: "OpenClawMU tenant config overlay" },
);

export type Overlay = Static<typeof OverlaySchema>;

/** Plain JSON Schema of the overlay (for `config.schema` and editors). */
export function overlayJsonSchema(): Record<string, unknown> {
  return JSON.parse(JSON.stringify(OverlaySchema)) as Record<string, unknown>;
}

/** Whether a tenant's overlay is in force: none (no file), valid, or invalid with the reason. */
export const OverlayStatusSchema = T.Object({
  state: T.Union([T.Literal("none"), T.Literal("valid"), T.Literal("invalid")]),
  reason: T.Optional(T.String({ description: "why the overlay is refused (its file and key paths); calls that depend on it are refused until it is fixed" })),
});
export type OverlayStatus = Static<typeof OverlayStatusSchema>;
