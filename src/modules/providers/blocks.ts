// The conversation of a chat completions body as Messages-style turns and blocks, shared by the
// gemini and bedrock translations: both want what Messages wants (system prompt hoisted, turns that
// alternate, tool calls answered in the next user turn), so they reuse the Anthropic translation's
// checks — names, ids, pairing, 400s naming the client's field — and map its blocks to their own.
import { AppError } from "../../core/errors.ts";
import type { TokenUsage } from "../usage/pricing.ts";
import { FRAMING } from "./anthropic.tools.ts";
import { openAiUsageBody, toAnthropicRequest } from "./anthropic.translate.ts";
import type { Json } from "./provider.ts";

export interface Turns {
  system: string | undefined;
  messages: { role: "user" | "assistant"; content: Json[] }[];
  /** Messages-shaped tools ({name, description?, input_schema}) and tool choice ({type, name?}). */
  tools: Json[] | undefined;
  toolChoice: Json | undefined;
}

export const bad = (param: string, message: string) => new AppError("INVALID_PARAMS", `${param}: ${message}`, { details: { param } });

/**
 * Only the conversation and tool fields go through the Anthropic translation: the other fields are the
 * calling kind's to translate (or refuse). Image URLs must be inline `data:` URLs (neither Gemini nor
 * Converse fetches an https image), and `parallel_tool_calls: false` has no equivalent in either.
 */
export function turnsOf(body: Json, kind: string): Turns {
  imageUrls(body, (url, param) => {
    if (!/^data:[^;,]+;base64,/.test(url)) throw bad(param, `${kind} models take inline images only (data:<type>;base64,… URLs)`);
  });
  if (body.parallel_tool_calls === false) throw bad("parallel_tool_calls", `false is not supported by ${kind} models`);
  const req = toAnthropicRequest({ messages: body.messages, tools: body.tools, tool_choice: body.tool_choice }, String(body.model), 1);
  return { system: req.system as string | undefined, messages: req.messages as Turns["messages"], tools: req.tools as Json[] | undefined, toolChoice: req.tool_choice as Json | undefined };
}

/** Calls `each` with every image URL of the messages and the field that holds it. */
export function imageUrls(body: Json, each: (url: string, param: string) => void): void {
  (body.messages as Json[]).forEach((m, i) => {
    if (!Array.isArray(m.content)) return;
    (m.content as Json[]).forEach((p, j) => {
      const url = p?.type === "image_url" ? (p.image_url as Json | undefined)?.url : undefined;
      if (typeof url === "string") each(url, `messages[${i}].content[${j}].image_url.url`);
    });
  });
}

/** The image media type and base64 data of a Messages image block (turnsOf admits inline ones only). */
export function inlineImage(block: Json): { mediaType: string; data: string } {
  const src = (block.source ?? {}) as Json;
  return { mediaType: String(src.media_type), data: String(src.data) };
}

/** A provider's token count: a positive number, else 0. */
export const count = (v: unknown): number => (typeof v === "number" && v > 0 ? Math.floor(v) : 0);

/** What every chunk of one streamed answer shares. */
export interface ChunkHead {
  id: string;
  created: number;
  model: string;
}

export function chunkOf(head: ChunkHead, index: number, delta: Json, finish: string | null = null): Json {
  return { id: head.id, object: "chat.completion.chunk", created: head.created, model: head.model, choices: [{ index, delta, finish_reason: finish, logprobs: null }] };
}

/** The closing usage chunk (no choices), as OpenAI sends it. */
export function usageChunkOf(head: ChunkHead, usage: TokenUsage | null): Json | null {
  return usage ? { id: head.id, object: "chat.completion.chunk", created: head.created, model: head.model, choices: [], usage: openAiUsageBody(usage) } : null;
}

/**
 * The tool framing allowance of anthropic.tools.ts (FRAMING) for a translated body: tokens a provider
 * may render around tool declarations, calls (per top-level input key) and results beyond their bytes.
 * Bedrock hands Claude models the Messages rendering, and nothing says Gemini's is smaller, so the
 * input bound keeps the same allowance for both.
 */
export function toolFraming(tools: number, inputs: unknown[], results: number): number {
  let n = tools * FRAMING.tool + results * FRAMING.toolResult;
  for (const input of inputs) n += FRAMING.toolUse + (input && typeof input === "object" && !Array.isArray(input) ? Object.keys(input).length * FRAMING.inputKey : 0);
  return n;
}
