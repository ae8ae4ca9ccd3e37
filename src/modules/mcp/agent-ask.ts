// agent_ask: the tenant's agents as one MCP tool. A turn of the agent runtime as the caller — through
// the tenant's quotas, admission and usage ledger like any chat.send — waited for (as cron's runner
// does) and answered as the agent's final text. The client going away, or the tenant stopping, aborts
// the turn; the identity is the request's, so a revoked token ends it too (the run re-checks it).
import { Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { toAppError } from "../../core/errors.ts";
import type { OpContext } from "../../edge/actor.ts";
import type { TenantIdentity, TenantScope } from "../../edge/tenant-scope.ts";
import type { RunsService } from "../agents/runs.service.ts";
import { capResult } from "../agents/tools/common.ts";
import type { ToolResult } from "../agents/tools/tool.ts";

export const AGENT_ASK = "agent_ask";

export const AgentAskParams = T.Object(
  {
    message: T.String({ minLength: 1, maxLength: 65_536, description: "what to ask the agent" }),
    agentId: T.Optional(T.String({ pattern: "^[a-z0-9][a-z0-9_-]{0,63}$", description: "the agent (default: main)" })),
    sessionKey: T.Optional(T.String({ minLength: 1, maxLength: 200, description: "the session to continue (default: mcp:default)" })),
  },
  { additionalProperties: false },
);

export const agentAskDef = {
  name: AGENT_ASK,
  description: "Asks one of the tenant's agents (default main) and returns its answer. The turn runs in the gateway with the agent's tools, in the tenant's sandbox, within its limits.",
  inputSchema: JSON.parse(JSON.stringify(AgentAskParams)) as Record<string, unknown>,
};

export async function agentAsk(runs: RunsService, identity: TenantScope & TenantIdentity, args: unknown, op: OpContext, signal: AbortSignal, maxBytes: number): Promise<ToolResult> {
  const fail = (content: string): ToolResult => ({ content, isError: true, truncated: false });
  if (!Value.Check(AgentAskParams, args)) {
    const first = Value.Errors(AgentAskParams, args).First();
    return fail(`INVALID_PARAMS: ${first ? `${first.path || "arguments"}: ${first.message}` : "arguments do not match the tool's schema"}`);
  }
  try {
    identity.assertCurrent();
    const sent = runs.send(identity, { sessionKey: args.sessionKey ?? "mcp:default", agentId: args.agentId, message: args.message }, op);
    const abort = () => runs.abort(identity, { runId: sent.runId });
    if (signal.aborted) abort();
    else signal.addEventListener("abort", abort, { once: true });
    try {
      await sent.durable;
      const end = sent.done ? await sent.done : ((await runs.wait(identity, { runId: sent.runId, timeoutMs: 300_000 })) as never);
      if (end.status !== "ok") return fail(`${end.error?.code ?? end.status}: ${end.error?.message ?? end.stopReason}`);
      return capResult({ content: end.text ?? "", isError: false, truncated: false }, maxBytes);
    } finally {
      signal.removeEventListener("abort", abort);
    }
  } catch (err) {
    const e = toAppError(err);
    return fail(`${e.code}: ${e.message}`);
  }
}
