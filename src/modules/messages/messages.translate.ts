// Anthropic Messages ⇄ OpenAI chat completions, for Messages requests routed to openai-kind providers.
// Pure functions (golden-tested). The request arrives vetted (messages.model.ts); what has no chat
// equivalent is refused with a 400 naming the Messages field (top_k, images in tool results), except
// what Anthropic itself ignores: thinking blocks of earlier turns, which the Messages API strips from
// the context, are not sent. cache_control marks are satisfied by the provider's automatic prefix
// caching (OpenAI-compatible APIs take no marks); the cache reads it reports are priced as such.
import { AppError } from "../../core/errors.ts";
import type { Json } from "../providers/provider.ts";
import type { TokenUsage } from "../usage/pricing.ts";

const bad = (param: string, message: string) => new AppError("INVALID_PARAMS", `${param}: ${message}`, { details: { param } });

function textOfBlocks(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return (content as Json[]).filter((b) => b.type === "text").map((b) => b.text as string).join("\n");
}

function imagePart(b: Json): Json {
  const src = b.source as Json;
  const url = src.type === "base64" ? `data:${src.media_type};base64,${src.data}` : String(src.url);
  return { type: "image_url", image_url: { url } };
}

/** A thinking budget as an OpenAI reasoning effort (the closest the chat API can say). */
export function effortFor(budget: number): "low" | "medium" | "high" {
  return budget < 4096 ? "low" : budget < 16_384 ? "medium" : "high";
}

/** The chat completions body for a vetted Messages body (model and output cap are set by the caller). */
export function toChatBody(req: Json): Json {
  const messages: Json[] = [];
  if (req.system !== undefined) {
    const text = textOfBlocks(req.system);
    if (text) messages.push({ role: "system", content: text });
  }
  (req.messages as Json[]).forEach((m, i) => {
    const content = m.content;
    if (m.role === "assistant") {
      if (typeof content === "string") return void messages.push({ role: "assistant", content });
      const blocks = content as Json[];
      const text = blocks.filter((b) => b.type === "text").map((b) => b.text as string).join("");
      const calls = blocks.filter((b) => b.type === "tool_use").map((b) => ({ id: b.id, type: "function", function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } }));
      const out: Json = { role: "assistant", content: text || (calls.length ? null : "") };
      if (calls.length) out.tool_calls = calls;
      messages.push(out);
      return;
    }
    if (typeof content === "string") return void messages.push({ role: "user", content });
    const parts: Json[] = [];
    (content as Json[]).forEach((b, j) => {
      if (b.type === "tool_result") {
        const c = b.content;
        if (Array.isArray(c) && (c as Json[]).some((x) => x.type === "image")) throw bad(`messages.${i}.content.${j}.content`, "images in tool results are not supported for this model");
        const text = textOfBlocks(c);
        // Chat has no error flag on a tool message: the model is told in the text, as Anthropic tells it.
        messages.push({ role: "tool", tool_call_id: b.tool_use_id, content: b.is_error === true ? `Error: ${text}` : text });
      } else if (b.type === "text") parts.push({ type: "text", text: b.text });
      else if (b.type === "image") parts.push(imagePart(b));
    });
    if (parts.length) messages.push({ role: "user", content: parts });
  });

  const body: Json = { model: req.model, messages };
  if (req.top_k !== undefined) throw bad("top_k", "is not supported for this model");
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.top_p !== undefined) body.top_p = req.top_p;
  if (req.stop_sequences !== undefined) body.stop = req.stop_sequences;
  const userId = (req.metadata as Json | undefined)?.user_id;
  if (typeof userId === "string") body.user = userId;
  if (Array.isArray(req.tools) && req.tools.length) {
    body.tools = (req.tools as Json[]).map((t) => ({ type: "function", function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.input_schema } }));
  }
  const tc = req.tool_choice as Json | undefined;
  if (tc) {
    if (tc.type === "auto") body.tool_choice = "auto";
    else if (tc.type === "any") body.tool_choice = "required";
    else if (tc.type === "none") body.tool_choice = "none";
    else if (tc.type === "tool") body.tool_choice = { type: "function", function: { name: tc.name } };
    if (tc.disable_parallel_tool_use === true && body.tools) body.parallel_tool_calls = false;
  }
  const th = req.thinking as Json | undefined;
  if (th?.type === "enabled") body.reasoning_effort = effortFor(th.budget_tokens as number);
  if (req.stream === true) body.stream = true;
  return body;
}

export function stopReason(finish: unknown): string {
  switch (finish) {
    case "length":
      return "max_tokens";
    case "tool_calls":
    case "function_call":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return "end_turn";
  }
}

/** Our usage as Anthropic reports it: input_tokens excludes cache reads and writes. */
export function anthropicUsageBody(u: TokenUsage | null): Json {
  if (!u) return { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  return {
    input_tokens: Math.max(0, u.inputTokens - u.cacheReadTokens - u.cacheWriteTokens),
    output_tokens: u.outputTokens,
    cache_creation_input_tokens: u.cacheWriteTokens,
    cache_read_input_tokens: u.cacheReadTokens,
  };
}

function parseArgs(args: unknown): Json {
  if (typeof args !== "string" || args.trim() === "") return {};
  try {
    const v = JSON.parse(args) as unknown;
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Json;
  } catch {
    // below
  }
  throw new AppError("UPSTREAM_ERROR", "the provider returned tool call arguments that are not a JSON object");
}

const msgId = (id: unknown) => `msg_${String(id ?? "").replace(/^chatcmpl-/, "").replace(/[^a-zA-Z0-9_-]/g, "").slice(0, 64) || Bun.randomUUIDv7().replaceAll("-", "")}`;

/** A chat.completion as a Messages `message`. */
export function fromChatCompletion(c: Json, model: string, usage: TokenUsage | null): Json {
  const choice = ((c.choices as Json[] | undefined) ?? [])[0] ?? {};
  const m = (choice.message ?? {}) as Json;
  const content: Json[] = [];
  if (typeof m.content === "string" && m.content) content.push({ type: "text", text: m.content });
  for (const call of (m.tool_calls as Json[] | undefined) ?? []) {
    const fn = (call.function ?? {}) as Json;
    content.push({ type: "tool_use", id: call.id, name: fn.name, input: parseArgs(fn.arguments) });
  }
  return { id: msgId(c.id), type: "message", role: "assistant", model, content, stop_reason: stopReason(choice.finish_reason), stop_sequence: null, usage: anthropicUsageBody(usage) };
}

/**
 * chat.completion.chunk objects → Messages stream events, in Anthropic's exact order: message_start
 * and a ping first, each content block opened, delta'd and stopped (text, then one per tool call),
 * and — once the stream ends, when the closing usage is known — message_delta and message_stop.
 */
export class ChatToMessagesStream {
  private started = false;
  private index = -1;
  private open: "text" | "tool" | null = null;
  private tools = new Map<number, number>();
  private finish: string | null = null;

  constructor(private readonly model: string) {}

  private start(id: unknown): Json[] {
    if (this.started) return [];
    this.started = true;
    return [
      { type: "message_start", message: { id: msgId(id), type: "message", role: "assistant", model: this.model, content: [], stop_reason: null, stop_sequence: null, usage: anthropicUsageBody(null) } },
      { type: "ping" },
    ];
  }

  private close(): Json[] {
    if (this.open === null) return [];
    this.open = null;
    return [{ type: "content_block_stop", index: this.index }];
  }

  /** One chunk in, zero or more events out. */
  feed(chunk: Json): Json[] {
    const out = this.start(chunk.id);
    const choice = ((chunk.choices as Json[] | undefined) ?? [])[0];
    if (!choice) return out;
    const d = (choice.delta ?? {}) as Json;
    if (typeof d.content === "string" && d.content !== "") {
      if (this.open !== "text") {
        out.push(...this.close());
        this.index++;
        this.open = "text";
        out.push({ type: "content_block_start", index: this.index, content_block: { type: "text", text: "" } });
      }
      out.push({ type: "content_block_delta", index: this.index, delta: { type: "text_delta", text: d.content } });
    }
    for (const tc of (d.tool_calls as Json[] | undefined) ?? []) {
      const k = typeof tc.index === "number" ? tc.index : 0;
      const fn = (tc.function ?? {}) as Json;
      if (!this.tools.has(k)) {
        out.push(...this.close());
        this.index++;
        this.open = "tool";
        this.tools.set(k, this.index);
        out.push({ type: "content_block_start", index: this.index, content_block: { type: "tool_use", id: tc.id, name: fn.name, input: {} } });
      }
      if (typeof fn.arguments === "string" && fn.arguments !== "") {
        // Messages streams blocks one after another: arguments for a call whose block was closed
        // cannot be placed, and are not dropped silently.
        if (this.tools.get(k) !== this.index) throw new AppError("UPSTREAM_ERROR", "the provider interleaved the arguments of parallel tool calls, which a Messages stream cannot carry");
        out.push({ type: "content_block_delta", index: this.index, delta: { type: "input_json_delta", partial_json: fn.arguments } });
      }
    }
    if (choice.finish_reason) this.finish = stopReason(choice.finish_reason);
    return out;
  }

  /** The closing events, with the usage the provider reported last. */
  end(usage: TokenUsage | null): Json[] {
    return [...this.start(""), ...this.close(), { type: "message_delta", delta: { stop_reason: this.finish ?? "end_turn", stop_sequence: null }, usage: { output_tokens: usage?.outputTokens ?? 0 } }, { type: "message_stop" }];
  }
}
