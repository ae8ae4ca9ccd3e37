// The gateway as an MCP server for one tenant (Streamable HTTP, stateless): each POST /mcp gets a
// fresh SDK server and transport bound to the identity the edge verified, so nothing of one request
// or tenant is reachable from another. tools/list is the tenant's tools an agent of it could be given
// (tool-policy.ts) plus agent_ask; tools/call runs the tool as the agent loop does — a ToolContext
// minted for the call, the identity re-checked first, the call bounded in time (gateway.mcp.callTimeoutSeconds
// and the agent's limits.maxSeconds), in output (limits.toolOutputBytes) and in number
// (gateway.mcp.maxConcurrentCallsPerTenant), and ended when the client goes or the tenant stops.
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { GatewayConfig } from "../../config/schema.ts";
import { AppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { OpContext } from "../../edge/actor.ts";
import { IdentityEnded, type TenantIdentity, type TenantScope } from "../../edge/tenant-scope.ts";
import { depthMessage, findReservedKey, jsonDepthExcess, RESERVED_KEY_MESSAGE } from "../../lib/json-safe.ts";
import { effectiveAgent } from "../agents/agent-config.ts";
import type { RunsService } from "../agents/runs.service.ts";
import type { AgentTool, ToolResult, ToolServices } from "../agents/tools/tool.ts";
import type { FeatureMount } from "../sandbox/sandbox.types.ts";
import type { TenantStop } from "../module.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import { AGENT_ASK, agentAsk, agentAskDef } from "./agent-ask.ts";
import { toolExposed } from "./tool-policy.ts";

export interface McpServerDeps {
  version: string;
  config(): GatewayConfig;
  log: Logger;
  overlays: OverlaysService;
  agentTools: { forTenant(tenant: TenantScope): AgentTool[]; prepare(tenant: TenantScope, signal: AbortSignal): Promise<void>; mounts(tenant: TenantScope): readonly FeatureMount[] };
  runs: RunsService;
  services: ToolServices;
}

interface LiveCall {
  tenantId: string;
  incarnation: string;
  token?: string;
  controller: AbortController;
}

/**
 * Messages in one POST /mcp batch at most. Each message is answered in full and the answers are sent
 * together, so a batch multiplies what one request costs: 100 tools/list (the SDK's own bound) of a
 * tenant with many tools came to hundreds of megabytes held at once. MCP 2025-06-18 has no batches;
 * older clients send few messages in one.
 */
export const MAX_BATCH_MESSAGES = 10;

const rpcError = (status: number, code: number, message: string) => Response.json({ jsonrpc: "2.0", id: null, error: { code, message } }, { status });

export function createMcpServer(deps: McpServerDeps) {
  const calls = new Map<string, number>(); // tools/call in progress, by tenant
  const live = new Set<LiveCall>();

  /** The tenant's tools /mcp exposes (its overlay invalid: CONFIG_INVALID, as every call that depends on it). */
  function exposed(tenant: TenantScope): AgentTool[] {
    const config = deps.config();
    const overlay = deps.overlays.current(tenant);
    return deps.agentTools.forTenant(tenant).filter((t) => t.name !== AGENT_ASK && toolExposed(config, overlay, t.name));
  }

  async function exposedPrepared(tenant: TenantScope, signal: AbortSignal): Promise<AgentTool[]> {
    await deps.agentTools.prepare(tenant, signal);
    return exposed(tenant);
  }

  const text = (r: ToolResult): CallToolResult => ({ content: [{ type: "text", text: r.content }], isError: r.isError });
  const refused = (message: string): CallToolResult => ({ content: [{ type: "text", text: message }], isError: true });

  async function callTool(identity: TenantScope & TenantIdentity, op: OpContext, name: string, args: unknown, requestSignal: AbortSignal): Promise<CallToolResult> {
    try {
      identity.assertCurrent();
    } catch {
      return refused("UNAUTHORIZED: the credentials this request used stopped working");
    }
    const config = deps.config();
    const max = config.gateway.mcp.maxConcurrentCallsPerTenant;
    const n = calls.get(identity.tenantId) ?? 0;
    if (n >= max) return refused(`RATE_LIMITED: the tenant has ${n} MCP tool calls in progress, the most it may have at once (gateway.mcp.maxConcurrentCallsPerTenant); retry when one has finished`);
    calls.set(identity.tenantId, n + 1);
    const controller = new AbortController();
    const call: LiveCall = { tenantId: identity.tenantId, incarnation: identity.incarnation, token: identity.actor.kind === "tenant" ? identity.actor.id : undefined, controller };
    live.add(call);
    const onGone = () => controller.abort(new DOMException("the client went away", "AbortError"));
    if (requestSignal.aborted) onGone();
    else requestSignal.addEventListener("abort", onGone, { once: true });
    let timer: Timer | undefined;
    try {
      const overlay = deps.overlays.current(identity);
      const main = effectiveAgent(config, overlay, "main")!;
      const seconds = Math.max(1, Math.min(config.gateway.mcp.callTimeoutSeconds, main.limits.maxSeconds));
      timer = setTimeout(() => controller.abort(new DOMException(`the call reached its limit of ${seconds} seconds`, "AbortError")), seconds * 1000);
      if (name === AGENT_ASK) return text(await agentAsk(deps.runs, identity, args, op, controller.signal, main.limits.toolOutputBytes));
      // Only the caller's own tools are looked up: another tenant's tool is the same answer as none.
      let tool = exposed(identity).find((t) => t.name === name);
      if (!tool && name.includes("__")) tool = (await exposedPrepared(identity, controller.signal)).find((t) => t.name === name);
      if (!tool) return refused(`NOT_FOUND: no tool named "${name.slice(0, 128)}"`);
      if (!args || typeof args !== "object" || Array.isArray(args)) return refused("INVALID_PARAMS: the arguments must be a JSON object");
      const r = await tool.run(args as Record<string, unknown>, {
        tenant: identity,
        agentId: main.id,
        sessionKey: "mcp:default",
        runId: `mcp_${Bun.randomUUIDv7().replaceAll("-", "")}`,
        signal: controller.signal,
        token: call.token,
        sandboxMode: main.sandboxMode ?? undefined,
        secondsLeft: seconds,
        maxOutputBytes: main.limits.toolOutputBytes,
        services: deps.services,
        // What an agent's exec sees, /mcp's sees too: the tenant's skills at /mnt/skills/<name>.
        mounts: deps.agentTools.mounts(identity),
      });
      return text(r);
    } catch (err) {
      const e = err instanceof AppError ? err : new AppError("INTERNAL", "the tool failed");
      if (e.code === "INTERNAL") deps.log.warn("an MCP tool call failed", { tenant: identity.tenantId, tool: name.slice(0, 128), error: String(err) });
      return refused(`${e.code}: ${e.message}`);
    } finally {
      clearTimeout(timer);
      requestSignal.removeEventListener("abort", onGone);
      live.delete(call);
      const left = (calls.get(identity.tenantId) ?? 1) - 1;
      if (left > 0) calls.set(identity.tenantId, left);
      else calls.delete(identity.tenantId);
    }
  }

  return {
    /** Answers one POST /mcp of the verified `identity`; `body` is the request's text, read within its limit. */
    async handle(request: Request, identity: TenantScope & TenantIdentity, body: string, op: OpContext): Promise<Response> {
      const depth = deps.config().gateway.limits.jsonMaxDepth;
      const tooDeep = jsonDepthExcess(body, depth);
      if (tooDeep !== null) return rpcError(400, -32600, `Invalid Request: the request is ${depthMessage(depth, "gateway.limits.jsonMaxDepth")} (at character ${tooDeep})`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch (err) {
        return rpcError(400, -32700, `Parse error: ${(err as Error).message}`);
      }
      if (findReservedKey(parsed)) return rpcError(400, -32600, `Invalid Request: ${RESERVED_KEY_MESSAGE}`);
      if (Array.isArray(parsed) && parsed.length > MAX_BATCH_MESSAGES) return rpcError(400, -32600, `Invalid Request: a batch on /mcp holds at most ${MAX_BATCH_MESSAGES} messages (this one has ${parsed.length}); send them in several requests`);
      const server = new Server({ name: "openclawmu", version: deps.version }, { capabilities: { tools: { listChanged: false } } });
      server.setRequestHandler(ListToolsRequestSchema, async (_req, extra) => {
        identity.assertCurrent();
        const tools = (await exposedPrepared(identity, extra.signal)).map((t) => ({ name: t.name, description: t.description, inputSchema: t.parameters as { type: "object" } }));
        return { tools: [...tools, agentAskDef as never] };
      });
      // The call ends when the client goes (its HTTP request aborted) as well as when the SDK cancels it.
      server.setRequestHandler(CallToolRequestSchema, (req, extra) => callTool(identity, op, req.params.name, req.params.arguments ?? {}, AbortSignal.any([extra.signal, request.signal])));
      const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      try {
        await server.connect(transport);
        return await transport.handleRequest(request, { parsedBody: parsed });
      } catch (err) {
        if (err instanceof IdentityEnded) throw err;
        throw err instanceof AppError ? err : new AppError("INTERNAL", "the MCP request failed", { cause: err });
      } finally {
        void server.close().catch(() => {});
      }
    },

    /** TenantData.onStop: ends the stopped incarnation's calls (for a revoked token, that token's). */
    stopTenant(s: TenantStop): void {
      for (const c of live) {
        if (c.tenantId !== s.tenantId || c.incarnation !== s.incarnation) continue;
        if (s.reason === "token-revoked" && !(c.token && s.tokens?.includes(c.token))) continue;
        c.controller.abort(new DOMException(`the call ended: tenant ${s.reason}`, "AbortError"));
      }
    },

    config: deps.config,

    /** Calls in progress (tests, metrics). */
    inProgress: (tenantId: string): number => calls.get(tenantId) ?? 0,
  };
}

export type McpServer = ReturnType<typeof createMcpServer>;
