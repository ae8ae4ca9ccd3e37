// OpenAI chat completions ⇄ Amazon Bedrock's Converse API. Pure functions (golden-tested): the
// request (system, turns, inline images, tool specs, tool uses and results, inference settings), the
// response (text, tool uses, stop reasons, usage with cache reads and writes) and ConverseStream's
// events, as the AWS SDK hands them over (objects keyed by event type).
import { AppError } from "../../core/errors.ts";
import type { TokenUsage } from "../usage/pricing.ts";
import { openAiUsageBody } from "./anthropic.translate.ts";
import { bad, chunkOf, count as n, imageUrls, inlineImage, turnsOf, usageChunkOf, type ChunkHead } from "./blocks.ts";
import type { Json } from "./provider.ts";

/** Image formats Converse takes (as `format`), by media type. */
const FORMATS: Record<string, string> = { "image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp" };

function content(blocks: Json[]): Json[] {
  return blocks.map((b) => {
    switch (b.type) {
      case "text":
        return { text: b.text };
      case "image": {
        const img = inlineImage(b);
        const format = FORMATS[img.mediaType.toLowerCase()]!; // checked by toConverseRequest
        // Base64 here, as on the wire: the payload's bytes are what the admission bound counts.
        return { image: { format, source: { bytes: img.data } } };
      }
      case "tool_use":
        return { toolUse: { toolUseId: b.id, name: b.name, input: b.input } };
      case "tool_result":
        return { toolResult: { toolUseId: b.tool_use_id, content: [{ text: b.content }] } };
      default:
        throw new AppError("INTERNAL", `unexpected block ${String(b.type)}`);
    }
  });
}

/** The Converse body (without the model id, which travels in the URL) for a vetted chat completions body. */
export function toConverseRequest(body: Json, maxTokens: number): Json {
  if (typeof body.n === "number" && body.n > 1) throw bad("n", "more than one choice is not supported by this model");
  imageUrls(body, (url, param) => {
    const type = /^data:([^;,]+);base64,/.exec(url)?.[1];
    if (type !== undefined && !FORMATS[type.toLowerCase()]) throw bad(param, `image type ${JSON.stringify(type)} is not supported by bedrock models (png, jpeg, gif, webp)`);
  });
  const turns = turnsOf(body, "bedrock");
  const req: Json = { messages: turns.messages.map((m) => ({ role: m.role, content: content(m.content) })) };
  if (turns.system !== undefined) req.system = [{ text: turns.system }];
  const inference: Json = { maxTokens };
  if (body.temperature !== undefined) inference.temperature = body.temperature;
  if (body.top_p !== undefined) inference.topP = body.top_p;
  if (body.stop !== undefined) inference.stopSequences = Array.isArray(body.stop) ? body.stop : [body.stop];
  req.inferenceConfig = inference;
  const usesTools = turns.messages.some((m) => m.content.some((b) => b.type === "tool_use" || b.type === "tool_result"));
  if (turns.toolChoice?.type === "none") throw bad("tool_choice", '"none" is not supported by bedrock models (leave the tools out instead)');
  if (turns.tools) {
    const toolConfig: Json = { tools: turns.tools.map((t) => ({ toolSpec: { name: t.name, ...(t.description ? { description: t.description } : {}), inputSchema: { json: t.input_schema } } })) };
    const tc = turns.toolChoice;
    if (tc) toolConfig.toolChoice = tc.type === "any" ? { any: {} } : tc.type === "tool" ? { tool: { name: tc.name } } : { auto: {} };
    req.toolConfig = toolConfig;
  } else if (usesTools) {
    // Converse refuses tool uses and results in a conversation that declares no tools.
    throw bad("tools", "bedrock models need the conversation's tools declared when it holds tool calls or results");
  }
  return req;
}

/** Converse usage → ours. Like Messages, inputTokens leaves out the cached part. */
export function converseUsage(u: unknown): TokenUsage | null {
  if (!u || typeof u !== "object") return null;
  const x = u as Json;
  const read = n(x.cacheReadInputTokens);
  const write = n(x.cacheWriteInputTokens);
  return { inputTokens: n(x.inputTokens) + read + write, outputTokens: n(x.outputTokens), cacheReadTokens: read, cacheWriteTokens: write, reasoningTokens: 0 };
}

export function converseFinish(stop: unknown): string {
  switch (stop) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "guardrail_intervened":
    case "content_filtered":
      return "content_filter";
    default:
      return "stop";
  }
}

export function fromConverseResponse(resp: Json, model: string, created: number, id: string): { body: Json; usage: TokenUsage | null } {
  const blocks = ((((resp.output ?? {}) as Json).message ?? {}) as Json).content as Json[] | undefined;
  let text = "";
  const calls: Json[] = [];
  for (const b of blocks ?? []) {
    if (typeof b.text === "string") text += b.text;
    const tu = b.toolUse as Json | undefined;
    if (tu) calls.push({ id: tu.toolUseId, type: "function", function: { name: tu.name, arguments: JSON.stringify(tu.input ?? {}) } });
  }
  const message: Json = { role: "assistant", content: text || (calls.length ? null : ""), refusal: null };
  if (calls.length) message.tool_calls = calls;
  const usage = converseUsage(resp.usage);
  return {
    body: { id, object: "chat.completion", created, model, choices: [{ index: 0, message, finish_reason: converseFinish(resp.stopReason), logprobs: null }], ...(usage ? { usage: openAiUsageBody(usage) } : {}) },
    usage,
  };
}

/** Turns ConverseStream events into chat.completion.chunk objects, tracking usage. */
export class ConverseStreamTranslator {
  private toolIndex = new Map<number, number>();
  private noArgs = new Set<number>();
  private tools = 0;
  private finish: string | null = null;
  usage: TokenUsage | null = null;
  /** The metadata event (Converse's closing usage) came after messageStop. */
  done = false;

  private readonly head: ChunkHead;

  constructor(model: string, created: number, id: string) {
    this.head = { id, created, model };
  }

  private chunk(delta: Json, finish: string | null = null): Json {
    return chunkOf(this.head, 0, delta, finish);
  }

  feed(ev: Json): Json[] {
    if (ev.messageStart) return [this.chunk({ role: "assistant", content: "" })];
    const start = ev.contentBlockStart as Json | undefined;
    if (start) {
      const tu = (start.start as Json | undefined)?.toolUse as Json | undefined;
      if (!tu) return [];
      const index = this.tools++;
      this.toolIndex.set(start.contentBlockIndex as number, index);
      this.noArgs.add(start.contentBlockIndex as number);
      return [this.chunk({ tool_calls: [{ index, id: tu.toolUseId, type: "function", function: { name: tu.name, arguments: "" } }] })];
    }
    const delta = ev.contentBlockDelta as Json | undefined;
    if (delta) {
      const d = (delta.delta ?? {}) as Json;
      if (typeof d.text === "string") return d.text ? [this.chunk({ content: d.text })] : [];
      const input = (d.toolUse as Json | undefined)?.input;
      const index = this.toolIndex.get(delta.contentBlockIndex as number);
      if (typeof input !== "string" || input === "" || index === undefined) return [];
      this.noArgs.delete(delta.contentBlockIndex as number);
      return [this.chunk({ tool_calls: [{ index, function: { arguments: input } }] })];
    }
    const stop = ev.contentBlockStop as Json | undefined;
    if (stop) {
      // As for Messages: a call without input gets "{}", what the JSON answer says.
      const index = this.toolIndex.get(stop.contentBlockIndex as number);
      if (index === undefined || !this.noArgs.delete(stop.contentBlockIndex as number)) return [];
      return [this.chunk({ tool_calls: [{ index, function: { arguments: "{}" } }] })];
    }
    if (ev.messageStop) {
      this.finish = converseFinish((ev.messageStop as Json).stopReason);
      return [this.chunk({}, this.finish)];
    }
    if (ev.metadata) {
      const u = converseUsage((ev.metadata as Json).usage);
      if (u) this.usage = u;
      this.done = this.finish !== null && u !== null;
      return [];
    }
    const key = Object.keys(ev).find((k) => k.endsWith("Exception"));
    if (key) {
      const e = ev[key] as Json;
      throw new AppError(key === "serviceUnavailableException" || key === "throttlingException" ? "UNAVAILABLE" : "UPSTREAM_ERROR", `provider failed mid-stream: ${String(e?.message ?? key)}`);
    }
    return [];
  }

  usageChunk(): Json | null {
    return usageChunkOf(this.head, this.usage);
  }
}
