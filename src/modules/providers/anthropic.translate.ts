// OpenAI chat completions ⇄ Anthropic Messages. Pure functions (golden-tested): the request (system
// prompt, multi-turn, images, tools and tool results), the response (text, tool calls, stop reasons,
// usage with cache reads and writes) and the stream events. Every field of the chat body is either
// translated or refused with a 400 naming it — never dropped: `response_format` becomes a forced
// tool whose input is handed back as the message text, `reasoning_effort` a thinking budget, and
// `cache_control` on text parts is carried as is (a whole-message text keeps its last mark).
import { AppError } from "../../core/errors.ts";
import type { TokenUsage } from "../usage/pricing.ts";
import { structuredOutput, textAndCache, textPart, thinking } from "./anthropic.options.ts";
import { anthropicToolFields, ToolPairing, toolUseBlocks } from "./anthropic.tools.ts";
import type { Json } from "./provider.ts";

type Block = Json;
interface AMessage {
  role: "user" | "assistant";
  content: Block[];
}

export { JSON_TOOL, jsonToolOf, THINKING_BUDGET } from "./anthropic.options.ts";

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
