// An agent world: a gateway routing to the fake provider, test tools added through the same AgentTool
// contract as the built-ins, the tenant's RPC in process, and the tenant's events as they are published.
import type { TenantEvent } from "../../../src/modules/events/events.service.ts";
import type { AgentTool } from "../../../src/modules/agents/tools/tool.ts";
import { chatWorld, type ChatWorld } from "../../helpers/chat.ts";
import { scope, testApp } from "../../helpers/core.ts";

export const echoTool: AgentTool = {
  name: "echo_tool",
  description: "Echoes its text.",
  parameters: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
  run: async (args) => ({ content: `echo: ${String(args.text)}`, isError: false, truncated: false }),
};

export const bigTool: AgentTool = {
  name: "big_tool",
  description: "Returns a lot of output.",
  parameters: { type: "object", properties: {} },
  run: async () => ({ content: "x".repeat(100_000), isError: false, truncated: false }),
};

/** Runs `sleep 30` in the tenant's real sandbox, tied to the run's signal. */
export const sleepTool: AgentTool = {
  name: "sleep_tool",
  description: "Sleeps in the sandbox.",
  parameters: { type: "object", properties: {} },
  run: async (_args, ctx) => {
    const r = await ctx.services.sandbox.run({ tenant: ctx.tenant, command: ["sleep", "30"], origin: "rpc", signal: ctx.signal, token: ctx.token, timeoutSeconds: Math.min(ctx.secondsLeft, 60) });
    sleepResults.push(r);
    return { content: `exit ${r.exitCode} killed ${r.killedReason}`, isError: r.exitCode !== 0, truncated: false };
  },
};
export const sleepResults: any[] = [];

export const TEST_TOOLS = [echoTool, bigTool, sleepTool];

export interface AgentWorld extends ChatWorld {
  rpc(method: string, params?: unknown, token?: string): Promise<{ result: any; error: any; status: number }>;
  events: TenantEvent[];
  /** Sends and waits for the run's end. */
  turn(params: Record<string, unknown>, token?: string): Promise<any>;
}

export async function agentWorld(opts: { agents?: Record<string, unknown>; quota?: Record<string, unknown>; tenant?: string; config?: Record<string, any> } = {}): Promise<AgentWorld> {
  const w = await chatWorld({ quota: opts.quota, tenant: opts.tenant, config: { ...opts.config, agents: { tools: ["echo_tool", "big_tool", "sleep_tool", "file_read"], ...opts.agents } } });
  for (const t of TEST_TOOLS) w.core.agentTools.add(t);
  const h = testApp(w.core);
  const events: TenantEvent[] = [];
  w.core.events.subscribe(scope(opts.tenant ?? "acme"), (e) => void events.push(e));
  const rpc = (method: string, params?: unknown, token = w.token) => h.rpc(token, method, params);
  return {
    ...w,
    rpc,
    events,
    async turn(params, token = w.token) {
      const sent = await rpc("chat.send", params, token);
      if (sent.error) throw new Error(`chat.send failed: ${JSON.stringify(sent.error)}`);
      const waited = await rpc("chat.wait", { runId: sent.result.runId, timeoutMs: 30_000 }, token);
      if (waited.error) throw new Error(`chat.wait failed: ${JSON.stringify(waited.error)}`);
      return waited.result;
    },
  };
}
