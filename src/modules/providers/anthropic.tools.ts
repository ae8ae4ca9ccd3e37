// Tool calling in the Anthropic translation: OpenAI `tools`, `tool_choice`, `parallel_tool_calls`,
// assistant `tool_calls` and `tool` messages become Messages `tools`, `tool_choice`, `tool_use` and
// `tool_result` blocks. Everything Messages would refuse about the translated body (a name or id
// outside its pattern, a tool result that answers no call, a call left unanswered, a duplicate) is
// refused here with a 400 naming the client's own field, before anything is sent or reserved.
import { AppError } from "../../core/errors.ts";
import type { Json } from "./provider.ts";

/** OpenAI's own ceiling on tools per request; Messages has none we could rely on. */
export const MAX_TOOLS = 128;
/** Calls in one assistant message (a model that emits more is not one a client should replay). */
export const MAX_TOOL_CALLS = 128;
export const MAX_TOOL_ID = 256;
/** What Messages accepts for a tool's name (and OpenAI for a function's). */
const NAME = /^[a-zA-Z0-9_-]{1,64}$/;
/** What Messages accepts for a tool_use id; OpenAI's `call_…` and Anthropic's `toolu_…` both fit. */
const ID = new RegExp(`^[a-zA-Z0-9_-]{1,${MAX_TOOL_ID}}$`);

/**
 * Tokens a provider may add around tool structures beyond their bytes in the payload: Messages renders
 * tool definitions, calls (each top-level input key in a tag of its own) and results into the prompt
 * with framing text the payload does not contain. Upper bounds of that framing's bytes, so the input
 * bound (bytes sent, see chat.model.ts) stays an upper bound with tools in the history.
 */
export const FRAMING = { tool: 64, toolUse: 64, inputKey: 32, toolResult: 32 } as const;

const bad = (param: string, message: string) => new AppError("INVALID_PARAMS", `${param}: ${message}`, { details: { param } });
const isObject = (v: unknown): v is Json => v !== null && typeof v === "object" && !Array.isArray(v);

function toolName(v: unknown, param: string): string {
  if (typeof v !== "string" || !NAME.test(v)) throw bad(param, `must be 1 to 64 letters, digits, "_" or "-" (got ${JSON.stringify(v)?.slice(0, 80)})`);
  return v;
}

function toolId(v: unknown, param: string): string {
  if (typeof v !== "string" || !ID.test(v)) throw bad(param, `must be 1 to ${MAX_TOOL_ID} letters, digits, "_" or "-" for this model (got ${JSON.stringify(v)?.slice(0, 80)})`);
  return v;
}

/** `tools` and `tool_choice` (with `parallel_tool_calls`) as Messages fields; absent when there are none. */
export function anthropicToolFields(body: Json): { tools?: Json[]; tool_choice?: Json } {
  const out: { tools?: Json[]; tool_choice?: Json } = {};
  const names = new Set<string>();
  if (body.tools !== undefined && body.tools !== null) {
    if (!Array.isArray(body.tools)) throw bad("tools", "must be an array");
    if (body.tools.length > MAX_TOOLS) throw bad("tools", `has more than ${MAX_TOOLS} tools`);
    const tools = (body.tools as unknown[]).map((t, i) => {
      const fn = isObject(t) ? (t.function as unknown) : undefined;
      if (!isObject(t) || t.type !== "function" || !isObject(fn) || typeof fn.name !== "string") throw bad(`tools[${i}]`, 'only {"type":"function"} tools with a name are supported');
      const name = toolName(fn.name, `tools[${i}].function.name`);
      if (names.has(name)) throw bad(`tools[${i}].function.name`, `${JSON.stringify(name)} is declared twice`);
      names.add(name);
      if (fn.description !== undefined && typeof fn.description !== "string") throw bad(`tools[${i}].function.description`, "must be a string");
      if (fn.parameters !== undefined && !isObject(fn.parameters)) throw bad(`tools[${i}].function.parameters`, "must be a JSON Schema object");
      return { name, ...(fn.description ? { description: fn.description } : {}), input_schema: fn.parameters ?? { type: "object", properties: {} } };
    });
    if (tools.length) out.tools = tools;
  }

  const parallel = body.parallel_tool_calls;
  if (parallel !== undefined && parallel !== null && typeof parallel !== "boolean") throw bad("parallel_tool_calls", "must be a boolean");
  const choice = body.tool_choice;
  let tc: Json | undefined;
  if (choice === undefined || choice === null || choice === "auto") tc = { type: "auto" };
  else if (choice === "none") tc = { type: "none" };
  else if (choice === "required") tc = { type: "any" };
  else if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === "string") {
    const name = choice.function.name;
    if (out.tools && !names.has(name)) throw bad("tool_choice.function.name", `${JSON.stringify(name.slice(0, 80))} is not one of the request's tools`);
    tc = { type: "tool", name };
  } else throw bad("tool_choice", 'must be "auto", "none", "required" or {"type":"function","function":{"name"}}');

  if (!out.tools) {
    // Without tools, "auto" and "none" say nothing; forcing a call to no tool is an error, not a no-op.
    if (tc.type === "any" || tc.type === "tool") throw bad("tool_choice", "needs tools: the request declares none");
    return out;
  }
  if (parallel === false && tc.type !== "none") tc.disable_parallel_tool_use = true;
  // Messages' default is auto; an explicit choice (or the parallel switch) is sent as asked.
  if ((choice !== undefined && choice !== null) || tc.disable_parallel_tool_use) out.tool_choice = tc;
  return out;
}

/** An assistant message's `tool_calls` as `tool_use` blocks, arguments parsed into the input object. */
export function toolUseBlocks(calls: unknown, param: string): Json[] {
  if (calls === undefined || calls === null) return [];
  if (!Array.isArray(calls)) throw bad(param, "must be an array");
  if (calls.length > MAX_TOOL_CALLS) throw bad(param, `has more than ${MAX_TOOL_CALLS} tool calls`);
  return calls.map((c, i) => {
    const at = `${param}[${i}]`;
    const fn = isObject(c) ? c.function : undefined;
    if (!isObject(c) || !isObject(fn) || typeof c.id !== "string" || typeof fn.name !== "string") throw bad(at, "needs an id and function.name");
    const id = toolId(c.id, `${at}.id`);
    const name = toolName(fn.name, `${at}.function.name`);
    let input: unknown = {};
    const args = fn.arguments;
    if (args !== undefined && args !== null && typeof args !== "string") throw bad(`${at}.function.arguments`, "must be a string of JSON");
    if (typeof args === "string" && args.trim() !== "") {
      try {
        input = JSON.parse(args);
      } catch {
        throw bad(`${at}.function.arguments`, "is not valid JSON");
      }
      if (!isObject(input)) throw bad(`${at}.function.arguments`, "must be a JSON object (Messages takes a tool's input as an object)");
    }
    return { type: "tool_use", id, name, input };
  });
}

/**
 * Pairs tool results with the calls they answer, as Messages requires: every call of an assistant
 * message is answered by the tool messages right after it (the gateway merges them into one user
 * turn, results first), each once, before the conversation goes on.
 */
export class ToolPairing {
  private open = new Map<string, string>();
  private opener = "";

  /** An assistant message made these calls; the previous calls must all have been answered. */
  calls(blocks: Json[], param: string): void {
    this.settle(param);
    const seen = new Set<string>();
    blocks.forEach((b, i) => {
      const id = b.id as string;
      if (seen.has(id)) throw bad(`${param}[${i}].id`, `${JSON.stringify(id)} is used twice in this message`);
      seen.add(id);
      this.open.set(id, `${param}[${i}]`);
    });
    this.opener = param;
  }

  /** A tool message answering `id` (param names its tool_call_id). */
  result(id: unknown, param: string): string {
    const tid = toolId(id, param);
    if (!this.open.delete(tid)) throw bad(param, `${JSON.stringify(tid)} does not answer an unanswered tool call of the assistant message before it`);
    return tid;
  }

  /** Any other message of the conversation (user or assistant text) at `param`, or its end (""). */
  settle(param: string): void {
    if (this.open.size === 0) return;
    const ids = [...this.open.keys()].slice(0, 5).map((x) => JSON.stringify(x)).join(", ");
    const where = param ? ` before ${param.replace(/\.tool_calls$/, "")}` : "";
    throw bad(this.opener, `tool call ${ids}${this.open.size > 5 ? ", …" : ""} needs a tool message answering it${where}`);
  }
}

/** Extra tokens (see FRAMING) for the tool structures of a Messages body. */
export function framingTokens(req: Json): number {
  let n = Array.isArray(req.tools) ? req.tools.length * FRAMING.tool : 0;
  for (const m of (Array.isArray(req.messages) ? req.messages : []) as Json[]) {
    if (!Array.isArray(m?.content)) continue;
    for (const b of m.content as Json[]) {
      if (b?.type === "tool_use") n += FRAMING.toolUse + (isObject(b.input) ? Object.keys(b.input).length * FRAMING.inputKey : 0);
      else if (b?.type === "tool_result") n += FRAMING.toolResult;
    }
  }
  return n;
}
