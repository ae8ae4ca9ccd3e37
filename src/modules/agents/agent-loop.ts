// One agent turn: call the model through the chat service (the same admission, quotas and ledger as
// any /v1 request, the ledger row tagged with the session and run), run the tool calls it asks for,
// feed the results back, and repeat until a final answer or a limit. Every step is written to the
// session's transcript and published on the tenant's event bus. A tool's failure is a tool result the
// model reads, never the run's end; a limit, an abort, a quota or an upstream error ends the run with
// a transcript entry that says so.
import { AppError, ERROR_TABLE, toAppError, type ErrorCode } from "../../core/errors.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import type { Clock } from "../../core/clock.ts";
import type { ChatService, ChunkSink, Settled } from "../chat/chat.service.ts";
import type { EventsService } from "../events/events.service.ts";
import { toolMatches } from "../../config/agents-schema.ts";
import { agentAllows, type EffectiveAgent } from "./agent-config.ts";
import { buildContext, type ChatMessage } from "./context.ts";
import { MAX_CALLS_PER_STEP, safeCalls } from "./tool-calls.ts";

/** Tool calls one model answer may number (the wire formats' own cap); calls past MAX_CALLS_PER_STEP are dropped later. */
const MAX_STREAMED_CALLS = 1024;
import type { SessionRow, SessionsService } from "./sessions.service.ts";
import type { Telemetry } from "../telemetry/telemetry-hook.ts";
import type { AgentTool, ToolContext, ToolResult, ToolServices } from "./tools/tool.ts";
import type { FeatureMount } from "../sandbox/sandbox.types.ts";

/** Why a run ended early: the reason given to its AbortController, and what the transcript says. */
export interface RunStop {
  status: "error" | "aborted";
  /** aborted, max_steps, max_seconds, max_output_tokens, tenant-suspended, … */
  stopReason: string;
  code: string;
  message: string;
}

export interface RunEnd {
  status: "ok" | "error" | "aborted";
  stopReason: string;
  text: string | null;
  error: { code: string; message: string } | null;
  usage: { inputTokens: number; outputTokens: number; costMicroUsd: number };
  steps: number;
}

export interface LoopRun {
  id: string;
  tenant: TenantScope;
  session: SessionRow;
  agent: EffectiveAgent;
  signal: AbortSignal;
  /** When the turn's seconds run out (clock ms). */
  deadline: number;
  token?: string;
  /** Throws (a RunStop) if the run may not go on: its tenant stopped or its identity ended. */
  assertLive(): void;
  /** What the turn has used so far (kept by the caller, so a run that ends early still reports it). */
  progress: { usage: RunEnd["usage"]; steps: number };
}

export interface LoopDeps {
  clock: Clock;
  chat: ChatService;
  events: EventsService;
  sessions: SessionsService;
  /** A tool by name for this tenant: a built-in, or one of the tenant's from a ToolSource. */
  tool(name: string, tenant: TenantScope): AgentTool | undefined;
  /** Lets the tool sources learn this tenant's tools (ToolSource.prepare) before the run lists them. */
  prepareTools?(tenant: TenantScope, signal: AbortSignal): Promise<void>;
  /** Every tool the tenant's agents could be given (built-ins and the ToolSources'), for the entries that end in *. */
  toolsFor?(tenant: TenantScope): readonly AgentTool[];
  /** Read-only folders the tenant's tool commands see (from the ToolSources). */
  mounts?(tenant: TenantScope): readonly FeatureMount[];
  /** Sections the ToolSources add to the system prompt of an agent with these tools. */
  promptSections?(tenant: TenantScope, allows: (tool: string) => boolean): string[];
  services: ToolServices;
  /** Traces (modules/telemetry): a span per tool step, when the operator exports traces. */
  telemetry?: Telemetry;
}

export function isRunStop(x: unknown): x is RunStop {
  return !!x && typeof x === "object" && "stopReason" in x && "status" in x && "code" in x;
}

function capContent(content: string, max: number): { content: string; truncated: boolean } {
  const buf = Buffer.from(content);
  if (buf.length <= max) return { content, truncated: false };
  // Cut on a character boundary (a replacement char at the cut is dropped).
  return { content: `${buf.subarray(0, max).toString("utf8").replace(/\uFFFD$/, "")}\n[truncated: ${buf.length} bytes, showing the first ${max}]`, truncated: true };
}

export async function runLoop(deps: LoopDeps, run: LoopRun, opts: { system: string; history: ChatMessage[][]; userMessage: string }): Promise<RunEnd> {
  const { sessions, events } = deps;
  const { tenant, session, agent } = run;
  const key = session.key;
  const usage = run.progress.usage;
  const current: ChatMessage[] = [{ role: "user", content: opts.userMessage }];
  if (deps.prepareTools && agent.tools.some((n) => n.endsWith("*") || !deps.tool(n, tenant))) await deps.prepareTools(tenant, run.signal);
  const toolDefs = agentToolDefs(deps, tenant, agent);
  const publish = (method: string, params: Record<string, unknown>) => events.publish(tenant, { method, params: { runId: run.id, sessionKey: key, ...params }, sessionKey: key, runId: run.id });
  const write = (entry: Record<string, unknown>) => sessions.append(tenant, session, { ...entry, ts: deps.clock.now(), runId: run.id } as never);

  for (;;) {
    run.assertLive();
    if (run.progress.steps >= agent.limits.maxSteps) throw stop("error", "max_steps", "STEP_LIMIT", `the turn reached its limit of ${agent.limits.maxSteps} model calls (limits.maxSteps)`);
    const remaining = agent.limits.maxOutputTokens - usage.outputTokens;
    if (remaining <= 0) throw stop("error", "max_output_tokens", "OUTPUT_LIMIT", `the turn reached its limit of ${agent.limits.maxOutputTokens} output tokens (limits.maxOutputTokens)`);
    const steps = ++run.progress.steps;
    const { messages } = buildContext({ system: opts.system, history: opts.history, current, contextWindow: agent.contextWindow, reserveOutput: Math.min(remaining, 4096) });
    const body: Record<string, unknown> = { messages, max_tokens: remaining, stream: true, stream_options: { include_usage: true } };
    if (agent.model) body.model = agent.model;
    if (toolDefs.length) body.tools = toolDefs.map((t) => ({ type: "function", function: { name: t.name, description: t.description, parameters: t.parameters } }));
    let charged: Settled | null = null;
    let answer: ModelAnswer;
    try {
      const reading = answerReader((delta) => publish("chat.delta", { delta }));
      const res = await deps.chat.handle({ tenant, requestId: `${run.id}.${steps}`, body, run: { sessionKey: key, runId: run.id }, signal: run.signal, onSettled: (c) => (charged = c), sink: reading.sink });
      answer = await reading.read(res, run.signal);
      if (run.signal.aborted && isRunStop(run.signal.reason)) throw run.signal.reason;
    } catch (err) {
      if (run.signal.aborted && isRunStop(run.signal.reason)) throw run.signal.reason;
      throw err;
    } finally {
      const c = charged as Settled | null;
      if (c) {
        usage.inputTokens += c.usage.inputTokens;
        usage.outputTokens += c.usage.outputTokens;
        usage.costMicroUsd += c.costMicroUsd;
        sessions.addUsage(tenant, key, { inputTokens: c.usage.inputTokens, outputTokens: c.usage.outputTokens, costMicroUsd: c.costMicroUsd });
      }
    }
    const text = answer.text;
    const { calls, dropped } = safeCalls(answer.calls, steps);
    const c = charged as Settled | null;
    write({ type: "assistant", model: answer.model ?? agent.model, step: steps, text, ...(calls.length ? { toolCalls: calls } : {}), usage: c?.usage ?? null, costMicroUsd: c?.costMicroUsd ?? 0, finishReason: answer.finishReason });
    if (calls.length === 0) {
      publish("chat.final", { text, usage, stopReason: "stop" });
      return { status: "ok", stopReason: "stop", text, error: null, usage, steps };
    }
    current.push({ role: "assistant", content: text || null, tool_calls: calls.map((t) => ({ id: t.id, type: "function", function: { name: t.name, arguments: t.arguments } })) });
    for (const call of calls) {
      run.assertLive();
      write({ type: "tool_call", toolCallId: call.id, name: call.name, arguments: call.arguments });
      publish("chat.tool", { phase: "call", toolCallId: call.id, name: call.name, arguments: call.arguments });
      const span = deps.telemetry?.toolStep({ tool: call.name.slice(0, 64), step: steps }, () => call.arguments);
      const result = call.problem ? { content: call.problem, isError: true, truncated: false } : await runTool(deps, run, call);
      span?.end(result.isError ? "error" : "ok", () => result.content);
      if (dropped > 0 && call === calls.at(-1)) result.content += `\n(${dropped} further tool calls of this step were dropped and not run: at most ${MAX_CALLS_PER_STEP} per step)`;
      if (run.signal.aborted && isRunStop(run.signal.reason)) throw run.signal.reason;
      const capped = capContent(result.content, agent.limits.toolOutputBytes);
      const truncated = result.truncated || capped.truncated;
      write({ type: "tool_result", toolCallId: call.id, name: call.name, content: capped.content, isError: result.isError, truncated });
      publish("chat.tool", { phase: "result", toolCallId: call.id, name: call.name, content: capped.content, isError: result.isError, truncated });
      current.push({ role: "tool", tool_call_id: call.id, content: capped.content });
    }
  }
}

interface ModelAnswer {
  model: string | null;
  text: string;
  calls: { id: string; name: string; arguments: string }[];
  finishReason: string | null;
}

/**
 * The model's answer, assembled from its chat.completion.chunk objects as they come: text deltas
 * (each one published as chat.delta), tool calls assembled by index. An error chunk or a failure
 * mid-stream is the run's error, with the gateway's code.
 */
function answerAssembler(onDelta: (d: string) => void) {
  const out: ModelAnswer = { model: null, text: "", calls: [], finishReason: null };
  return {
    take(chunk: any): void {
      if (chunk.error) {
        const code = String(chunk.error.code ?? "").toUpperCase();
        throw new AppError(code in ERROR_TABLE ? (code as ErrorCode) : "UPSTREAM_ERROR", String(chunk.error.message ?? "the model call failed"));
      }
      if (typeof chunk.model === "string") out.model = chunk.model;
      const choice = chunk.choices?.[0];
      if (!choice) return;
      if (choice.finish_reason) out.finishReason = choice.finish_reason;
      const d = choice.delta ?? {};
      if (typeof d.content === "string" && d.content) {
        out.text += d.content;
        onDelta(d.content);
      }
      for (const tc of Array.isArray(d.tool_calls) ? d.tool_calls : []) {
        // The index comes from upstream: one past the wire formats' call cap is a protocol error, not
        // the size of an array (red team 13, F5).
        const i = Number.isInteger(tc.index) ? tc.index : out.calls.length;
        if (i < 0 || i >= MAX_STREAMED_CALLS) throw new AppError("UPSTREAM_ERROR", `the model's stream numbered a tool call ${String(i).slice(0, 20)}; at most ${MAX_STREAMED_CALLS} are taken`);
        const slot = (out.calls[i] ??= { id: "", name: "", arguments: "" });
        if (typeof tc.id === "string") slot.id = tc.id;
        if (typeof tc.function?.name === "string") slot.name += tc.function.name;
        if (typeof tc.function?.arguments === "string") slot.arguments += tc.function.arguments;
      }
    },
    answer(): ModelAnswer {
      out.calls = out.calls.filter(Boolean);
      return out;
    },
  };
}

/**
 * The agent loop's own model call, read in process: the chat service hands each chunk to the sink
 * (no SSE written and parsed back); the body is still read to its end, one empty frame per chunk, so
 * stopping early (a refused chunk, the run's abort) cancels the call as a client's disconnect would.
 */
export function answerReader(onDelta: (d: string) => void) {
  const a = answerAssembler(onDelta);
  let failed: unknown = null;
  const sink: ChunkSink = {
    chunk(c) {
      if (failed) return;
      try {
        a.take(c);
      } catch (err) {
        failed = err;
      }
    },
    error(e) {
      failed ??= e;
    },
  };
  return {
    sink,
    async read(res: Response, signal: AbortSignal): Promise<ModelAnswer> {
      if (res.body) {
        const reader = res.body.getReader();
        try {
          for (;;) {
            if (failed || signal.aborted) break;
            if ((await reader.read()).done) break;
          }
        } finally {
          await reader.cancel().catch(() => {});
        }
      }
      if (failed) throw failed;
      return a.answer();
    },
  };
}

export function stop(status: RunStop["status"], stopReason: string, code: string, message: string): RunStop {
  return { status, stopReason, code, message };
}

/** The agent's tools, in the order of its entries (a prefix's tools in the listing's order), each allowed by every bound. */
function agentToolDefs(deps: LoopDeps, tenant: TenantScope, agent: EffectiveAgent): AgentTool[] {
  const out = new Map<string, AgentTool>();
  for (const entry of agent.tools) {
    const found = entry.endsWith("*") ? (deps.toolsFor?.(tenant) ?? []).filter((t) => toolMatches(entry, t.name)) : [deps.tool(entry, tenant)];
    for (const t of found) if (t && !out.has(t.name) && agentAllows(agent, t.name)) out.set(t.name, t);
  }
  return [...out.values()];
}

async function runTool(deps: LoopDeps, run: LoopRun, call: { id: string; name: string; arguments: string }): Promise<ToolResult> {
  const refuse = (content: string): ToolResult => ({ content, isError: true, truncated: false });
  const tool = agentAllows(run.agent, call.name) ? deps.tool(call.name, run.tenant) : undefined;
  if (!tool) return refuse(`tool "${call.name.slice(0, 64)}" is not available to this agent`);
  let args: unknown;
  try {
    args = call.arguments.trim() === "" ? {} : JSON.parse(call.arguments);
  } catch {
    return refuse("the arguments are not valid JSON");
  }
  if (!args || typeof args !== "object" || Array.isArray(args)) return refuse("the arguments must be a JSON object");
  const ctx: ToolContext = {
    tenant: run.tenant,
    agentId: run.agent.id,
    sessionKey: run.session.key,
    runId: run.id,
    signal: run.signal,
    token: run.token,
    sandboxMode: run.agent.sandboxMode ?? undefined,
    secondsLeft: Math.max(1, Math.floor((run.deadline - deps.clock.now()) / 1000)),
    maxOutputBytes: run.agent.limits.toolOutputBytes,
    services: deps.services,
    mounts: deps.mounts?.(run.tenant),
  };
  try {
    return await tool.run(args as Record<string, unknown>, ctx);
  } catch (err) {
    // A tool that throws is a bug or a refusal; the model reads it, the run goes on.
    const e = toAppError(err);
    return refuse(e instanceof AppError && e.code !== "INTERNAL" ? e.message : "the tool failed");
  }
}
