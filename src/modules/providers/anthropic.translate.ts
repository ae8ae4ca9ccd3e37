// OpenAI chat completions ⇄ Anthropic Messages. Pure functions (golden-tested): the request (system
// prompt, multi-turn, images, tools and tool results), the response (text, tool calls, stop reasons,
// usage with cache reads and writes) and the stream events.
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

function textOf(content: unknown, param: string): string {
  if (typeof content === "string") return content;
  if (content === null || content === undefined) return "";
  if (Array.isArray(content)) {
    return content
      .map((p, i) => {
        if (p && typeof p === "object" && (p as Json).type === "text" && typeof (p as Json).text === "string") return (p as Json).text as string;
        throw bad(`${param}[${i}]`, "only text parts are allowed here");
      })
      .join("\n");
  }
  throw bad(param, "must be a string or an array of content parts");
}

function userBlocks(content: unknown, param: string): Block[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  if (!Array.isArray(content)) throw bad(param, "must be a string or an array of content parts");
  return content.map((p, i) => {
    const part = p as Json;
    if (part?.type === "text" && typeof part.text === "string") return { type: "text", text: part.text };
    if (part?.type === "image_url") {
      const url = (part.image_url as Json | undefined)?.url;
      if (typeof url !== "string") throw bad(`${param}[${i}].image_url.url`, "must be a string");
      const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
      return m ? { type: "image", source: { type: "base64", media_type: m[1], data: m[2] } } : { type: "image", source: { type: "url", url } };
    }
    throw bad(`${param}[${i}].type`, `content part type ${JSON.stringify(part?.type)} is not supported for this model`);
  });
}

export function toAnthropicRequest(body: Json, upstreamModel: string, maxTokens: number): Json {
  const messages = body.messages as Json[];
  const system: string[] = [];
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
    switch (m.role) {
      case "system":
      case "developer":
        // Hoisted into `system`: no turn of the conversation, so it does not interrupt tool calls.
        system.push(textOf(m.content, `${p}.content`));
        break;
      case "user":
        pairing.settle(p);
        push("user", userBlocks(m.content, `${p}.content`));
        break;
      case "assistant": {
        const text = textOf(m.content, `${p}.content`);
        const calls = toolUseBlocks(m.tool_calls, `${p}.tool_calls`);
        pairing.calls(calls, `${p}.tool_calls`);
        push("assistant", [...(text ? [{ type: "text", text }] : []), ...calls]);
        break;
      }
      case "tool": {
        if (typeof m.tool_call_id !== "string") throw bad(`${p}.tool_call_id`, "is required for tool messages");
        const id = pairing.result(m.tool_call_id, `${p}.tool_call_id`);
        // Consecutive tool messages land in one user turn (push merges): Messages wants all of an
        // assistant turn's results in the next user turn, before any text.
        push("user", [{ type: "tool_result", tool_use_id: id, content: textOf(m.content, `${p}.content`) }]);
        break;
      }
      default:
        throw bad(`${p}.role`, `role ${JSON.stringify(m.role)} is not supported`);
    }
  });
  pairing.settle("");

  const req: Json = { model: upstreamModel, max_tokens: maxTokens, messages: out };
  if (system.length) req.system = system.join("\n\n");
  if (body.temperature !== undefined) req.temperature = body.temperature;
  if (body.top_p !== undefined) req.top_p = body.top_p;
  if (body.stop !== undefined && body.stop !== null) req.stop_sequences = Array.isArray(body.stop) ? body.stop : [body.stop];
  if (typeof body.user === "string") req.metadata = { user_id: body.user };
  Object.assign(req, anthropicToolFields(body));
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

export function fromAnthropicResponse(msg: Json, model: string, created: number): { body: Json; usage: TokenUsage } {
  const blocks = (Array.isArray(msg.content) ? msg.content : []) as Json[];
  const text = blocks.filter((b) => b.type === "text").map((b) => b.text as string).join("");
  const toolCalls = blocks
    .filter((b) => b.type === "tool_use")
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
      choices: [{ index: 0, message, finish_reason: finishReason(msg.stop_reason), logprobs: null }],
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
  usage: TokenUsage | null = null;
  finish: string | null = null;
  /** message_stop was seen: the usage is the closing one, not message_start's partial count. */
  stopped = false;

  constructor(
    private readonly model: string,
    private readonly created: number,
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
        if (d.type === "input_json_delta") {
          const index = this.toolIndex.get(ev.index as number);
          if (index === undefined || typeof d.partial_json !== "string" || d.partial_json === "") return [];
          this.noArgs.delete(ev.index as number);
          return [this.chunk({ tool_calls: [{ index, function: { arguments: d.partial_json } }] })];
        }
        return [];
      }
      case "content_block_stop": {
        // A call without input streams no JSON at all; OpenAI clients parse the arguments they
        // concatenated, so they get "{}" (what the JSON answer says) rather than "".
        const index = this.toolIndex.get(ev.index as number);
        if (index === undefined || !this.noArgs.delete(ev.index as number)) return [];
        return [this.chunk({ tool_calls: [{ index, function: { arguments: "{}" } }] })];
      }
      case "message_delta": {
        const d = (ev.delta ?? {}) as Json;
        if (d.stop_reason !== undefined && d.stop_reason !== null) this.finish = finishReason(d.stop_reason);
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
