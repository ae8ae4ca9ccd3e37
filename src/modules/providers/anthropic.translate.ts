// OpenAI chat completions ⇄ Anthropic Messages. Pure functions (golden-tested): the request (system
// prompt, multi-turn, images, tools and tool results), the response (text, tool calls, stop reasons,
// usage with cache reads and writes) and the stream events. Every field of the chat body is either
// translated or refused with a 400 naming it — never dropped: `response_format` becomes a forced
// tool whose input is handed back as the message text, `reasoning_effort` a thinking budget, and
// `cache_control` on text parts is carried as is (a whole-message text keeps its last mark).
import { AppError } from "../../core/errors.ts";
import type { TokenUsage } from "../usage/pricing.ts";
import { anthropicToolFields, ToolPairing, toolUseBlocks } from "./anthropic.tools.ts";
import type { Json } from "./provider.ts";

type Block = Json;
interface AMessage {
  role: "user" | "assistant";
  content: Block[];
}

const bad = (param: string, message: string) => new AppError("INVALID_PARAMS", `${param}: ${message}`, { details: { param } });

/** Chat fields this translation carries over (or, for n and stream_options, settles); any other is refused. */
const TRANSLATED = new Set(["model", "messages", "max_tokens", "max_completion_tokens", "stream", "stream_options", "n", "temperature", "top_p", "stop", "user", "tools", "tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort"]);
const MESSAGE_KEYS: Record<string, ReadonlySet<string>> = {
  system: new Set(["role", "content"]),
  developer: new Set(["role", "content"]),
  user: new Set(["role", "content"]),
  assistant: new Set(["role", "content", "tool_calls"]),
  tool: new Set(["role", "content", "tool_call_id"]),
};
/** Thinking budgets for OpenAI's reasoning efforts ("minimal" and "none" ask for no thinking). */
export const THINKING_BUDGET: Record<string, number> = { low: 1024, medium: 4096, high: 16_384 };
const EFFORTS = new Set(["none", "minimal", "low", "medium", "high"]);
/** The forced tool a response_format becomes when its schema has no usable name. */
export const JSON_TOOL = "json_response";
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

function cacheControl(part: Json, param: string): Json | undefined {
  const cc = part.cache_control;
  if (cc === undefined || cc === null) return undefined;
  if (typeof cc !== "object" || Array.isArray(cc)) throw bad(`${param}.cache_control`, "must be an object");
  for (const k of Object.keys(cc)) if (k !== "type" && k !== "ttl") throw bad(`${param}.cache_control.${k}`, "is not a field the gateway forwards");
  if ((cc as Json).type !== "ephemeral") throw bad(`${param}.cache_control.type`, 'must be "ephemeral"');
  const ttl = (cc as Json).ttl;
  if (ttl !== undefined && ttl !== "5m") throw bad(`${param}.cache_control.ttl`, 'only "5m" is accepted (a longer cache write costs more than the rate card charges)');
  return cc as Json;
}

function textPart(p: unknown, param: string): { text: string; cache?: Json } {
  const part = p as Json;
  if (!part || typeof part !== "object" || part.type !== "text" || typeof part.text !== "string") throw bad(param, "only text parts are allowed here");
  for (const k of Object.keys(part)) if (k !== "type" && k !== "text" && k !== "cache_control") throw bad(`${param}.${k}`, "is not supported for this model");
  return { text: part.text, cache: cacheControl(part, param) };
}

/** A message's text parts joined, with the last cache_control mark among them. */
function textAndCache(content: unknown, param: string): { text: string; cache?: Json } {
  if (typeof content === "string") return { text: content };
  if (content === null || content === undefined) return { text: "" };
  if (!Array.isArray(content)) throw bad(param, "must be a string or an array of content parts");
  let cache: Json | undefined;
  const text = content
    .map((p, i) => {
      const t = textPart(p, `${param}[${i}]`);
      if (t.cache) cache = t.cache;
      return t.text;
    })
    .join("\n");
  return { text, cache };
}


function userBlocks(content: unknown, param: string): Block[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  if (!Array.isArray(content)) throw bad(param, "must be a string or an array of content parts");
  return content.map((p, i) => {
    const part = p as Json;
    if (part?.type === "text") {
      const t = textPart(part, `${param}[${i}]`);
      return { type: "text", text: t.text, ...(t.cache ? { cache_control: t.cache } : {}) };
    }
    if (part?.type === "image_url") {
      const url = (part.image_url as Json | undefined)?.url;
      if (typeof url !== "string") throw bad(`${param}[${i}].image_url.url`, "must be a string");
      for (const k of Object.keys(part)) if (k !== "type" && k !== "image_url") throw bad(`${param}[${i}].${k}`, "is not supported for this model");
      const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
      return m ? { type: "image", source: { type: "base64", media_type: m[1], data: m[2] } } : { type: "image", source: { type: "url", url } };
    }
    throw bad(`${param}[${i}].type`, `content part type ${JSON.stringify(part?.type)} is not supported for this model`);
  });
}

/** The forced tool `response_format` becomes (null: none, or plain text). */
export function jsonToolOf(body: Json): string | null {
  const rf = body.response_format as Json | undefined | null;
  if (!rf || rf.type === "text") return null;
  const name = (rf.json_schema as Json | undefined)?.name;
  return rf.type === "json_schema" && typeof name === "string" && TOOL_NAME.test(name) ? name : JSON_TOOL;
}

export function toAnthropicRequest(body: Json, upstreamModel: string, maxTokens: number): Json {
  for (const k of Object.keys(body)) if (body[k] !== null && body[k] !== undefined && !TRANSLATED.has(k)) throw bad(k, "is not supported for this model");
  if (body.n !== undefined && body.n !== null && body.n !== 1) throw bad("n", "more than one choice is not supported by this model");
  const messages = body.messages as Json[];
  const system: { text: string; cache?: Json }[] = [];
  const out: AMessage[] = [];
  const push = (role: AMessage["role"], blocks: Block[]) => {
    if (blocks.length === 0) return;
    const last = out[out.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  };
  const pairing = new ToolPairing();
  messages.forEach((m, i) => {
    const p = `messages[${i}]`;
    const keys = MESSAGE_KEYS[m.role as string];
    if (keys) for (const k of Object.keys(m)) if (m[k] !== null && m[k] !== undefined && !keys.has(k)) throw bad(`${p}.${k}`, "is not supported for this model");
    switch (m.role) {
      case "system":
      case "developer":
        // Hoisted into `system`: no turn of the conversation, so it does not interrupt tool calls.
        system.push(textAndCache(m.content, `${p}.content`));
        break;
      case "user":
        pairing.settle(p);
        push("user", userBlocks(m.content, `${p}.content`));
        break;
      case "assistant": {
        const { text, cache } = textAndCache(m.content, `${p}.content`);
        const calls = toolUseBlocks(m.tool_calls, `${p}.tool_calls`);
        pairing.calls(calls, `${p}.tool_calls`);
        push("assistant", [...(text ? [{ type: "text", text, ...(cache ? { cache_control: cache } : {}) }] : []), ...calls]);
        break;
      }
      case "tool": {
        if (typeof m.tool_call_id !== "string") throw bad(`${p}.tool_call_id`, "is required for tool messages");
        const id = pairing.result(m.tool_call_id, `${p}.tool_call_id`);
        // Consecutive tool messages land in one user turn (push merges): Messages wants all of an
        // assistant turn's results in the next user turn, before any text.
        const { text, cache } = textAndCache(m.content, `${p}.content`);
        push("user", [{ type: "tool_result", tool_use_id: id, content: text, ...(cache ? { cache_control: cache } : {}) }]);
        break;
      }
      default:
        throw bad(`${p}.role`, `role ${JSON.stringify(m.role)} is not supported`);
    }
  });
  pairing.settle("");

  const req: Json = { model: upstreamModel, max_tokens: maxTokens, messages: out };
  // Plain text unless a part carries a cache mark: then one block per system message, marks kept.
  if (system.some((s) => s.cache)) req.system = system.map((s) => ({ type: "text", text: s.text, ...(s.cache ? { cache_control: s.cache } : {}) }));
  else if (system.length) req.system = system.map((s) => s.text).join("\n\n");
  if (body.temperature !== undefined) req.temperature = body.temperature;
  if (body.top_p !== undefined) req.top_p = body.top_p;
  if (body.stop !== undefined && body.stop !== null) req.stop_sequences = Array.isArray(body.stop) ? body.stop : [body.stop];
  if (typeof body.user === "string") req.metadata = { user_id: body.user };
  Object.assign(req, anthropicToolFields(body));
  structuredOutput(body, req);
  thinking(body, req, maxTokens);
  return req;
}

/** response_format → a forced tool with the schema as its input_schema (its input is the answer). */
function structuredOutput(body: Json, req: Json): void {
  const name = jsonToolOf(body);
  if (!name) return;
  if (req.tools) throw bad("response_format", "cannot be combined with tools for this model (it is sent as a forced tool)");
  const rf = body.response_format as Json;
  const js = (rf.json_schema ?? {}) as Json;
  const schema = rf.type === "json_schema" && js.schema !== undefined ? (js.schema as Json) : { type: "object" };
  if (!schema || typeof schema !== "object" || Array.isArray(schema) || (schema.type !== undefined && schema.type !== "object")) {
    throw bad("response_format.json_schema.schema", 'must describe an object ("type": "object") for this model');
  }
  const description = typeof js.description === "string" ? js.description : "Answer by calling this tool: its input is the JSON response.";
  req.tools = [{ name, description, input_schema: { type: "object", ...schema } }];
  req.tool_choice = { type: "tool", name };
}

/** reasoning_effort → extended thinking with a budget below the output cap. */
function thinking(body: Json, req: Json, maxTokens: number): void {
  const effort = body.reasoning_effort;
  if (effort === undefined || effort === null) return;
  if (typeof effort !== "string" || !EFFORTS.has(effort)) throw bad("reasoning_effort", `must be one of ${[...EFFORTS].join(", ")}`);
  const wanted = THINKING_BUDGET[effort];
  if (wanted === undefined) return; // none, minimal: no thinking
  const forced = (req.tool_choice as Json | undefined)?.type;
  if (forced === "any" || forced === "tool") throw bad("reasoning_effort", "cannot be combined with a forced tool (tool_choice or response_format) for this model");
  if (body.temperature !== undefined && body.temperature !== null && body.temperature !== 1) throw bad("temperature", "must be 1 or unset with reasoning_effort for this model");
  if (body.top_p !== undefined && body.top_p !== null) throw bad("top_p", "cannot be combined with reasoning_effort for this model");
  const budget = Math.min(wanted, maxTokens - 1);
  if (budget < THINKING_BUDGET.low!) throw bad("reasoning_effort", `needs an output cap above ${THINKING_BUDGET.low} tokens for this model (max_tokens)`);
  req.thinking = { type: "enabled", budget_tokens: budget };
}

export function anthropicUsage(u: unknown): TokenUsage {
  const x = (u ?? {}) as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === "number" && v > 0 ? Math.floor(v) : 0);
  const cacheRead = n(x.cache_read_input_tokens);
  const cacheWrite = n(x.cache_creation_input_tokens);
  return { inputTokens: n(x.input_tokens) + cacheRead + cacheWrite, outputTokens: n(x.output_tokens), cacheReadTokens: cacheRead, cacheWriteTokens: cacheWrite, reasoningTokens: 0 };
}

export function openAiUsageBody(u: TokenUsage): Json {
  return {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cacheReadTokens, cache_write_tokens: u.cacheWriteTokens },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
  };
}

export function finishReason(stop: unknown): string {
  switch (stop) {
    case "max_tokens":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    default:
      return "stop";
  }
}

export function fromAnthropicResponse(msg: Json, model: string, created: number, jsonTool?: string | null): { body: Json; usage: TokenUsage } {
  const blocks = (Array.isArray(msg.content) ? msg.content : []) as Json[];
  const isJson = (b: Json) => jsonTool !== undefined && jsonTool !== null && b.type === "tool_use" && b.name === jsonTool;
  // A response_format answer: the forced tool's input is the message text.
  const text = blocks
    .filter((b) => b.type === "text" || isJson(b))
    .map((b) => (isJson(b) ? JSON.stringify(b.input ?? {}) : (b.text as string)))
    .join("");
  const toolCalls = blocks
    .filter((b) => b.type === "tool_use" && !isJson(b))
    .map((b) => ({ id: b.id, type: "function", function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } }));
  const usage = anthropicUsage(msg.usage);
  const message: Json = { role: "assistant", content: text || (toolCalls.length ? null : ""), refusal: null };
  if (toolCalls.length) message.tool_calls = toolCalls;
  return {
    body: {
      id: `chatcmpl-${String(msg.id ?? "")}`,
      object: "chat.completion",
      created,
      model,
      choices: [{ index: 0, message, finish_reason: toolCalls.length === 0 && msg.stop_reason === "tool_use" ? "stop" : finishReason(msg.stop_reason), logprobs: null }],
      usage: openAiUsageBody(usage),
    },
    usage,
  };
}

/** Turns Anthropic stream events into chat.completion.chunk objects, tracking usage as it goes. */
export class AnthropicStreamTranslator {
  private id = "";
  private toolIndex = new Map<number, number>();
  /** Tool blocks that have streamed no argument bytes yet (a call without input). */
  private noArgs = new Set<number>();
  private tools = 0;
  private raw: Record<string, unknown> = {};
  /** The block of the response_format tool, whose input streams as content; -1: none yet. */
  private jsonIndex = -1;
  private jsonArgs = false;
  usage: TokenUsage | null = null;
  finish: string | null = null;
  /** message_stop was seen: the usage is the closing one, not message_start's partial count. */
  stopped = false;

  constructor(
    private readonly model: string,
    private readonly created: number,
    private readonly jsonTool: string | null = null,
  ) {}

  private chunk(delta: Json, finish: string | null = null): Json {
    return { id: this.id, object: "chat.completion.chunk", created: this.created, model: this.model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] };
  }

  private mergeUsage(u: unknown): void {
    if (!u || typeof u !== "object") return;
    for (const [k, v] of Object.entries(u)) if (typeof v === "number") this.raw[k] = v;
    this.usage = anthropicUsage(this.raw);
  }

  /** One event in, zero or more chunks out. Throws the provider's error event. */
  feed(type: string, ev: Json): Json[] {
    switch (type) {
      case "message_start": {
        const msg = (ev.message ?? {}) as Json;
        this.id = `chatcmpl-${String(msg.id ?? "")}`;
        this.mergeUsage(msg.usage);
        return [this.chunk({ role: "assistant", content: "" })];
      }
      case "content_block_start": {
        const block = (ev.content_block ?? {}) as Json;
        if (block.type === "tool_use" && this.jsonTool !== null && block.name === this.jsonTool) {
          this.jsonIndex = ev.index as number;
          return [];
        }
        if (block.type === "tool_use") {
          const index = this.tools++;
          this.toolIndex.set(ev.index as number, index);
          this.noArgs.add(ev.index as number);
          return [this.chunk({ tool_calls: [{ index, id: block.id, type: "function", function: { name: block.name, arguments: "" } }] })];
        }
        if (block.type === "text" && typeof block.text === "string" && block.text) return [this.chunk({ content: block.text })];
        return [];
      }
      case "content_block_delta": {
        const d = (ev.delta ?? {}) as Json;
        if (d.type === "text_delta") return [this.chunk({ content: d.text })];
        if (d.type === "input_json_delta" && ev.index === this.jsonIndex) {
          if (typeof d.partial_json !== "string" || d.partial_json === "") return [];
          this.jsonArgs = true;
          return [this.chunk({ content: d.partial_json })];
        }
        if (d.type === "input_json_delta") {
          const index = this.toolIndex.get(ev.index as number);
          if (index === undefined || typeof d.partial_json !== "string" || d.partial_json === "") return [];
          this.noArgs.delete(ev.index as number);
          return [this.chunk({ tool_calls: [{ index, function: { arguments: d.partial_json } }] })];
        }
        return [];
      }
      case "content_block_stop": {
        if (ev.index === this.jsonIndex && this.jsonIndex >= 0) return this.jsonArgs ? [] : [this.chunk({ content: "{}" })];
        // A call without input streams no JSON at all; OpenAI clients parse the arguments they
        // concatenated, so they get "{}" (what the JSON answer says) rather than "".
        const index = this.toolIndex.get(ev.index as number);
        if (index === undefined || !this.noArgs.delete(ev.index as number)) return [];
        return [this.chunk({ tool_calls: [{ index, function: { arguments: "{}" } }] })];
      }
      case "message_delta": {
        const d = (ev.delta ?? {}) as Json;
        if (d.stop_reason !== undefined && d.stop_reason !== null) this.finish = d.stop_reason === "tool_use" && this.jsonIndex >= 0 && this.tools === 0 ? "stop" : finishReason(d.stop_reason);
        this.mergeUsage(ev.usage);
        return [];
      }
      case "message_stop":
        this.stopped = true;
        return [this.chunk({}, this.finish ?? "stop")];
      case "error": {
        const e = (ev.error ?? {}) as Json;
        throw new AppError(e.type === "overloaded_error" ? "UNAVAILABLE" : "UPSTREAM_ERROR", `provider failed mid-stream: ${String(e.message ?? e.type ?? "error")}`);
      }
      default:
        return []; // ping, and event types added later
    }
  }

  usageChunk(): Json | null {
    if (!this.usage) return null;
    return { id: this.id, object: "chat.completion.chunk", created: this.created, model: this.model, choices: [], usage: openAiUsageBody(this.usage) };
  }
}
