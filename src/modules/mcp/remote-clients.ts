// The tenant's MCP servers — remote ones and stdio ones in its sandbox, from its overlay
// `mcpServers.<name>` and from its enabled plugins' manifests (`<plugin>-<server>`, see
// ./plugin-servers.ts) — as tools of its agents named `mcp__<name>__<tool>`. For a remote server the
// gateway is the client, so every request it makes goes through
// the egress policy (lib/pinned-fetch.ts: gateway.mcp.remoteAllow, public addresses only, the vetted
// address dialled, no redirects, answers capped). Lifecycle: connected on first use (a run's start or
// a /mcp tools/list, through ToolSource.prepare), closed after gateway.mcp.clientIdleSeconds unused,
// reconnected on next use — after clientMaxReconnects failures in a row, left alone for
// clientIdleSeconds; every call bounded in time (clientCallTimeoutSeconds, the run's time left) and
// output (the agent's toolOutputBytes). Connections are per tenant and end when the tenant stops.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { GatewayConfig } from "../../config/schema.ts";
import type { Logger } from "../../core/logger.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import type { Lookup } from "../../lib/egress-dial.ts";
import { EgressRefused, pinnedFetch } from "../../lib/pinned-fetch.ts";
import { capResult, capText, fail } from "../agents/tools/common.ts";
import type { AgentTool, ToolResult, ToolSource } from "../agents/tools/tool.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import type { SandboxService } from "../sandbox/sandbox.service.ts";
import type { SkillsService } from "../skills/skills.service.ts";
import { declaredServers, MAX_TOOL_NAME, toolPrefix, type DeclaredServer, type ServerSpec } from "./plugin-servers.ts";
import { SandboxStdioTransport } from "./sandbox-transport.ts";

/** A remote tool name the gateway passes on (what model providers accept in a tool name). */
const REMOTE_TOOL = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_TOOLS_PER_SERVER = 128;
const MAX_SCHEMA_BYTES = 64 * 1024;
const MAX_DESCRIPTION_BYTES = 4096;
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
const LIST_NAME = "remote MCP allow-list (gateway.mcp.remoteAllow)";
/**
 * Tools of all of one tenant's MCP servers together offered at most, and the bytes of their
 * definitions (name, description, schema) together: every model request of its agents and every
 * /mcp tools/list carries them all, so without a bound across servers a tenant's own servers
 * (16 of them, 128 tools each, 64 KiB schemas) would make each listing hundreds of megabytes.
 * Servers are taken by name; the tools past either bound are not offered (and said in the log).
 */
export const MAX_MCP_TOOLS_PER_TENANT = 128;
export const MAX_MCP_TOOL_BYTES_PER_TENANT = 1024 * 1024;

interface Conn {
  tenantId: string;
  server: string;
  fingerprint: string;
  client: Client | null;
  tools: AgentTool[];
  /** Tools the server lists that are not passed on (a name or schema providers would refuse). */
  skipped: string[];
  /** Each tool's definition bytes (name, description, schema), in the order of `tools`. */
  sizes: number[];
  connecting: Promise<void> | null;
  failures: number;
  retryAt: number;
  lastError: string | null;
  idle: Timer | null;
  /** When it ended by itself after connecting (a crash, an exit): restarts are bounded. */
  crashes: number[];
}

export interface ServerStatus {
  name: string;
  /** The URL of a remote server; `sandbox: <argv>` for a stdio one. */
  url: string;
  state: "connected" | "idle" | "error";
  error: string | null;
  tools: string[];
  /** The server's tools not passed on: a name past 64 characters with its prefix, or not [A-Za-z0-9_-], or a schema past 64 KiB. */
  skipped: string[];
  /** Where it is declared: the tenant's overlay, or an enabled plugin's manifest. */
  source: "overlay" | "plugin";
  plugin: string | null;
}

function render(r: { content?: unknown; isError?: unknown }): ToolResult {
  const parts: string[] = [];
  for (const c of Array.isArray(r.content) ? (r.content as Record<string, unknown>[]) : []) {
    if (c.type === "text" && typeof c.text === "string") parts.push(c.text);
    else if ((c.type === "image" || c.type === "audio") && typeof c.data === "string") parts.push(`[${c.type} ${String(c.mimeType).slice(0, 100)}, ${Math.floor((c.data.length * 3) / 4)} bytes, not shown]`);
    else if (c.type === "resource" && c.resource && typeof (c.resource as { text?: unknown }).text === "string") parts.push((c.resource as { text: string }).text);
    else if (c.type === "resource" || c.type === "resource_link") parts.push(`[${c.type} ${String((c.resource as { uri?: unknown } | undefined)?.uri ?? c.uri).slice(0, 500)}]`);
  }
  return { content: parts.join("\n"), isError: r.isError === true, truncated: false };
}

export function createRemoteClients(deps: { config(): GatewayConfig; log: Logger; overlays: OverlaysService; skills: SkillsService; sandbox: SandboxService; version: string; lookup?: Lookup }) {
  const conns = new Map<string, Conn>();
  const key = (tenantId: string, server: string) => `${tenantId}\u0000${server}`;
  const settings = () => deps.config().gateway.mcp;
  const log = deps.log.withTag("mcp-client");
  const state = { lookup: deps.lookup };

  /** The servers the tenant declares and may use now (the overlay's, then its enabled plugins'). */
  const declared = (tenant: TenantScope): DeclaredServer[] => declaredServers(deps, tenant);
  const usable = (tenant: TenantScope) => declared(tenant).filter((d) => !d.refused);

  function drop(conn: Conn, why?: string): void {
    if (conn.idle) clearTimeout(conn.idle);
    conn.idle = null;
    const c = conn.client;
    conn.client = null;
    conn.tools = [];
    conn.skipped = [];
    conn.sizes = [];
    if (why) conn.lastError = why;
    if (c) void c.close().catch(() => {});
  }

  function touch(conn: Conn): void {
    if (conn.idle) clearTimeout(conn.idle);
    conn.idle = setTimeout(() => drop(conn), settings().clientIdleSeconds * 1000);
    conn.idle.unref?.();
  }

  function toolsOf(conn: Conn, listed: { name: string; description?: string; inputSchema: unknown }[]): { tools: AgentTool[]; sizes: number[] } {
    const out: AgentTool[] = [];
    conn.skipped = [];
    const sizes: number[] = [];
    let bytes = 0;
    for (const t of listed.slice(0, MAX_TOOLS_PER_SERVER)) {
      const name = `${toolPrefix(conn.server)}${t.name}`;
      const schema = JSON.stringify(t.inputSchema ?? { type: "object" });
      // A name a provider would refuse, or a schema past the cap, is skipped (and said in the log).
      if (typeof t.name !== "string" || !REMOTE_TOOL.test(t.name) || name.length > MAX_TOOL_NAME || schema.length > MAX_SCHEMA_BYTES) {
        if (conn.skipped.length < MAX_TOOLS_PER_SERVER) conn.skipped.push(String(t.name).slice(0, 80));
        log.warn("a remote MCP tool was skipped", { tenant: conn.tenantId, server: conn.server, tool: String(t.name).slice(0, 80), reason: "its name or schema is not usable (name [A-Za-z0-9_-], at most 64 characters with its prefix; schema at most 64 KiB)" });
        continue;
      }
      const remoteName = t.name;
      const description = capText(`${typeof t.description === "string" ? t.description : ""} (MCP server "${conn.server}")`, MAX_DESCRIPTION_BYTES).text;
      const size = name.length + Buffer.byteLength(description) + schema.length;
      // One server alone never holds more than the tenant's whole allowance.
      if (bytes + size > MAX_MCP_TOOL_BYTES_PER_TENANT) {
        log.warn("a remote MCP server's tools were cut", { tenant: conn.tenantId, server: conn.server, kept: out.length, reason: `their definitions hold more than ${MAX_MCP_TOOL_BYTES_PER_TENANT} bytes` });
        break;
      }
      bytes += size;
      sizes.push(size);
      out.push({
        name,
        description,
        parameters: JSON.parse(schema) as Record<string, unknown>,
        async run(args, ctx) {
          const client = conn.client;
          // The tool was looked up under the run's tenant; a connection of another is never used.
          if (!client || ctx.tenant.tenantId !== conn.tenantId) return fail(`UNAVAILABLE: the MCP server "${conn.server}" is not connected; try again`);
          if (ctx.signal.aborted) return fail("ABORTED: the run was stopped before the tool started");
          touch(conn);
          const timeout = Math.max(1, Math.min(settings().clientCallTimeoutSeconds, ctx.secondsLeft)) * 1000;
          try {
            const r = await client.callTool({ name: remoteName, arguments: args }, undefined, { signal: ctx.signal, timeout });
            return capResult(render(r as { content?: unknown; isError?: unknown }), ctx.maxOutputBytes);
          } catch (err) {
            let message = (err instanceof Error ? err.message : String(err)).slice(0, 500);
            if (ctx.signal.aborted) return fail("ABORTED: the run was stopped");
            // The connection may be broken: the next use connects again. One that already ended by
            // itself (client.onclose) has said why.
            if (conn.client === client) drop(conn, message);
            else if (conn.lastError) message = `${message} (${conn.lastError})`;
            return capResult(fail(`UPSTREAM_ERROR: the MCP server "${conn.server}" failed: ${message}`), ctx.maxOutputBytes);
          }
        },
      });
    }
    return { tools: out, sizes };
  }

  async function connect(conn: Conn, tenant: TenantScope, spec: ServerSpec, signal: AbortSignal): Promise<void> {
    const s = settings();
    const timeout = s.clientCallTimeoutSeconds * 1000;
    const client = new Client({ name: "openclawmu", version: deps.version });
    let transport: StreamableHTTPClientTransport | SandboxStdioTransport;
    if (spec.command) {
      transport = new SandboxStdioTransport({ sandbox: deps.sandbox, tenant, command: spec.command, env: spec.env, mounts: spec.mounts });
    } else {
      // Every request of this connection is vetted afresh against the policy in force then.
      const fetch = pinnedFetch({
        policy: () => ({ allow: deps.config().gateway.mcp.remoteAllow, listName: LIST_NAME, allowPrivate: deps.config().sandbox.egress?.allowPrivate }),
        lookup: state.lookup,
        maxResponseBytes: MAX_RESPONSE_BYTES,
        timeoutMs: timeout,
      });
      transport = new StreamableHTTPClientTransport(new URL(spec.url!), {
        fetch,
        requestInit: { headers: spec.headers ?? {}, redirect: "manual" },
        reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 },
      });
    }
    // A connection that ends by itself (the server crashed or exited, the stream broke) is dropped:
    // the next use starts it again, within the restart bound (ensure).
    client.onclose = () => {
      if (conn.client !== client) return;
      conn.crashes = [...conn.crashes.filter((t) => t > Date.now() - settings().clientIdleSeconds * 1000), Date.now()];
      drop(conn, transport instanceof SandboxStdioTransport ? (transport.exitReason ?? "the server exited") : "the connection closed");
    };
    try {
      await client.connect(transport, { signal, timeout });
      const listed = await client.listTools(undefined, { signal, timeout });
      const offered = toolsOf(conn, listed.tools as never);
      conn.tools = offered.tools;
      conn.sizes = offered.sizes;
      conn.client = client;
      conn.failures = 0;
      conn.lastError = null;
      touch(conn);
    } catch (err) {
      void client.close().catch(() => {});
      conn.failures++;
      const stdioWhy = transport instanceof SandboxStdioTransport ? transport.exitReason : null;
      conn.lastError = (err instanceof EgressRefused ? err.message : `could not connect: ${stdioWhy ?? (err instanceof Error ? err.message : String(err))}`).slice(0, 500);
      if (conn.failures >= s.clientMaxReconnects) conn.retryAt = Date.now() + s.clientIdleSeconds * 1000;
      log.info("a remote MCP server could not be used", { tenant: conn.tenantId, server: conn.server, error: conn.lastError, failures: conn.failures });
    }
  }

  async function ensure(tenant: TenantScope, d: DeclaredServer, signal: AbortSignal): Promise<void> {
    const { name, spec } = d;
    const k = key(tenant.tenantId, name);
    const fingerprint = fingerprintOf(d);
    let conn = conns.get(k);
    if (conn && conn.fingerprint !== fingerprint) {
      drop(conn);
      conns.delete(k);
      conn = undefined;
    }
    if (!conn) {
      conn = { tenantId: tenant.tenantId, server: name, fingerprint, client: null, tools: [], skipped: [], sizes: [], connecting: null, failures: 0, retryAt: 0, lastError: null, idle: null, crashes: [] };
      conns.set(k, conn);
    }
    if (conn.client) return touch(conn);
    if (!conn.connecting) {
      if (conn.failures >= settings().clientMaxReconnects && Date.now() < conn.retryAt) return;
      // Restarts after a crash are bounded: clientMaxReconnects within clientIdleSeconds, then left alone.
      const recent = conn.crashes.filter((t) => t > Date.now() - settings().clientIdleSeconds * 1000);
      if (recent.length >= settings().clientMaxReconnects) {
        conn.lastError = `ended ${recent.length} times within ${settings().clientIdleSeconds} s (last: ${conn.lastError ?? "unknown"}); not started again until then`.slice(0, 500);
        return;
      }
      if (conn.failures >= settings().clientMaxReconnects) conn.failures = 0;
      const c = conn;
      c.connecting = connect(c, tenant, spec, signal).finally(() => (c.connecting = null));
    }
    await conn.connecting;
  }

  // What makes a server another one: its spec, where it is declared, and a plugin's archive digest.
  const fingerprintOf = ({ spec, source, plugin, revision }: DeclaredServer) =>
    JSON.stringify([spec.url ?? null, spec.headers ?? {}, spec.command ?? null, spec.env ?? {}, spec.mounts ?? [], source, plugin, revision]);

  const source: ToolSource = {
    name: "mcp",
    tools(tenant) {
      const out: AgentTool[] = [];
      let bytes = 0;
      // Within the tenant's bounds across all its servers, taken by server name (a stable order).
      for (const d of [...usable(tenant)].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))) {
        const conn = conns.get(key(tenant.tenantId, d.name));
        if (!conn?.client || conn.fingerprint !== fingerprintOf(d)) continue;
        for (let i = 0; i < conn.tools.length; i++) {
          const size = conn.sizes[i] ?? 0;
          if (out.length >= MAX_MCP_TOOLS_PER_TENANT || bytes + size > MAX_MCP_TOOL_BYTES_PER_TENANT) return out;
          bytes += size;
          out.push(conn.tools[i]!);
        }
      }
      return out;
    },
    async prepare(tenant, signal) {
      const servers = usable(tenant);
      // Servers no longer declared (the overlay's removed, a plugin disabled or removed) are closed and
      // forgotten: the map holds only what is declared.
      const names = new Set(servers.map((d) => key(tenant.tenantId, d.name)));
      for (const [k, conn] of conns) {
        if (conn.tenantId !== tenant.tenantId || names.has(k) || conn.connecting) continue;
        drop(conn);
        conns.delete(k);
      }
      await Promise.allSettled(servers.map((d) => ensure(tenant, d, signal)));
    },
  };

  return {
    source,
    /** The tenant's servers — its overlay's and its enabled plugins' — and how they are (RPC mcp.servers). */
    status(tenant: TenantScope): ServerStatus[] {
      return declared(tenant).map((d) => {
        const { name, spec } = d;
        const conn = d.refused ? undefined : conns.get(key(tenant.tenantId, name));
        const connected = !!conn?.client && conn.fingerprint === fingerprintOf(d);
        const error = d.refused ?? (connected ? null : (conn?.lastError ?? null));
        return {
          name,
          url: spec.url ?? `sandbox: ${spec.command!.join(" ")}`.slice(0, 500),
          state: connected ? "connected" : error ? "error" : "idle",
          error,
          tools: connected ? conn!.tools.map((t) => t.name) : [],
          skipped: connected ? [...conn!.skipped] : [],
          source: d.source,
          plugin: d.plugin,
        };
      });
    },
    /** Connections kept for the tenant (open or remembered for their failures). */
    kept: (tenantId: string): number => [...conns.values()].filter((c) => c.tenantId === tenantId).length,
    closeTenant(tenantId: string): void {
      for (const [k, conn] of conns) {
        if (conn.tenantId !== tenantId) continue;
        drop(conn);
        conns.delete(k);
      }
    },
    closeAll(): void {
      for (const conn of conns.values()) drop(conn);
      conns.clear();
    },
    /** Name resolution for the egress check (tests: a name that resolves to a private address). */
    useLookup(lookup: Lookup | undefined): void {
      state.lookup = lookup;
    },
  };
}

export type RemoteClients = ReturnType<typeof createRemoteClients>;
