// OpenAI chat completions ⇄ Gemini generateContent. Pure functions (golden-tested): the request
// (system instruction, turns, inline images, function declarations and calls, function responses,
// generation settings, JSON output), the response (text, function calls, finish reasons, usage with
// cached and thinking tokens) and the SSE stream of streamGenerateContent.
import { AppError } from "../../core/errors.ts";
import type { TokenUsage } from "../usage/pricing.ts";
import { openAiUsageBody } from "./anthropic.translate.ts";
import { chunkOf, count as n, inlineImage, turnsOf, usageChunkOf, type ChunkHead } from "./blocks.ts";
import type { Json } from "./provider.ts";

const MODE: Record<string, string> = { auto: "AUTO", none: "NONE", any: "ANY", tool: "ANY" };

function parts(blocks: Json[], names: Map<string, string>): Json[] {
  return blocks.map((b) => {
    switch (b.type) {
      case "text":
        return { text: b.text };
      case "image": {
        const img = inlineImage(b);
        return { inlineData: { mimeType: img.mediaType, data: img.data } };
      }
      case "tool_use":
        names.set(b.id as string, b.name as string);
        return { functionCall: { name: b.name, args: b.input } };
      case "tool_result":
        // Gemini answers a call by its function name; the pairing checks made the id known.
        return { functionResponse: { name: names.get(b.tool_use_id as string), response: { content: b.content } } };
      default:
        throw new AppError("INTERNAL", `unexpected block ${String(b.type)}`);
    }
  });
}

function responseFormat(v: unknown): Json {
  const rf = v as Json;
  if (rf.type === "text") return {};
  if (rf.type === "json_object") return { responseMimeType: "application/json" };
  const schema = (rf.json_schema as Json | undefined)?.schema;
  return { responseMimeType: "application/json", ...(schema !== undefined ? { responseJsonSchema: schema } : {}) };
}

/** The generateContent body for a vetted chat completions body (output cap as the chat layer set it). */
export function toGeminiRequest(body: Json, maxTokens: number): Json {
  const turns = turnsOf(body, "gemini");
  const names = new Map<string, string>();
  const req: Json = { contents: turns.messages.map((m) => ({ role: m.role === "assistant" ? "model" : "user", parts: parts(m.content, names) })) };
  if (turns.system !== undefined) req.systemInstruction = { parts: [{ text: turns.system }] };
  if (turns.tools) req.tools = [{ functionDeclarations: turns.tools.map((t) => ({ name: t.name, ...(t.description ? { description: t.description } : {}), parametersJsonSchema: t.input_schema })) }];
  if (turns.toolChoice) {
    const tc = turns.toolChoice;
    req.toolConfig = { functionCallingConfig: { mode: MODE[tc.type as string], ...(tc.type === "tool" ? { allowedFunctionNames: [tc.name] } : {}) } };
  }
  const gen: Json = { maxOutputTokens: maxTokens };
  if (body.temperature !== undefined) gen.temperature = body.temperature;
  if (body.top_p !== undefined) gen.topP = body.top_p;
  if (body.stop !== undefined) gen.stopSequences = Array.isArray(body.stop) ? body.stop : [body.stop];
  if (typeof body.n === "number" && body.n > 1) gen.candidateCount = body.n;
  if (body.seed !== undefined) gen.seed = body.seed;
  if (body.presence_penalty !== undefined) gen.presencePenalty = body.presence_penalty;
  if (body.frequency_penalty !== undefined) gen.frequencyPenalty = body.frequency_penalty;
  if (body.response_format !== undefined) Object.assign(gen, responseFormat(body.response_format));
  req.generationConfig = gen;
  return req;
}

/** Gemini's usageMetadata → ours: thinking tokens are output (and reasoning), cached content a cache read. */
export function geminiUsage(u: unknown): TokenUsage | null {
  if (!u || typeof u !== "object") return null;
  const x = u as Json;
  const thoughts = n(x.thoughtsTokenCount);
  return {
    inputTokens: n(x.promptTokenCount) + n(x.toolUsePromptTokenCount),
    outputTokens: n(x.candidatesTokenCount) + thoughts,
    cacheReadTokens: n(x.cachedContentTokenCount),
    cacheWriteTokens: 0,
    reasoningTokens: thoughts,
  };
}

const FILTERED = new Set(["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"]);

export function geminiFinish(reason: unknown, calls: boolean): string {
  if (calls) return "tool_calls";
  if (reason === "MAX_TOKENS") return "length";
  return FILTERED.has(reason as string) ? "content_filter" : "stop";
}

/** Tool call ids: Gemini's own when it gives one, else derived from the response id (stable for a response). */
function callId(fc: Json, responseId: string, candidate: number, k: number): string {
  if (typeof fc.id === "string" && /^[a-zA-Z0-9_-]{1,200}$/.test(fc.id)) return fc.id;
  return `call_${responseId.replace(/[^a-zA-Z0-9_-]/g, "").slice(0, 64)}_${candidate}_${k}`;
}

interface Said {
  text: string;
  calls: Json[];
}

/** A candidate's answer parts: text (thought summaries left out) and function calls. */
function said(candidate: Json, responseId: string, index: number, firstCall: number): Said {
  const ps = (((candidate.content ?? {}) as Json).parts ?? []) as Json[];
  let text = "";
  const calls: Json[] = [];
  for (const p of ps) {
    if (p.thought === true) continue;
    if (typeof p.text === "string") text += p.text;
    const fc = p.functionCall as Json | undefined;
    if (fc && typeof fc.name === "string") {
      calls.push({ id: callId(fc, responseId, index, firstCall + calls.length), type: "function", function: { name: fc.name, arguments: JSON.stringify(fc.args ?? {}) } });
    }
  }
  return { text, calls };
}

const candidatesOf = (resp: Json) => (Array.isArray(resp.candidates) ? (resp.candidates as Json[]) : []);
const indexOf = (c: Json, i: number) => (typeof c.index === "number" ? c.index : i);

export function fromGeminiResponse(resp: Json, model: string, created: number): { body: Json; usage: TokenUsage | null } {
  const rid = String(resp.responseId ?? "");
  const cands = candidatesOf(resp);
  const choices = cands.map((c, i) => {
    const s = said(c, rid, indexOf(c, i), 0);
    const message: Json = { role: "assistant", content: s.text || (s.calls.length ? null : ""), refusal: null };
    if (s.calls.length) message.tool_calls = s.calls;
    return { index: indexOf(c, i), message, finish_reason: geminiFinish(c.finishReason, s.calls.length > 0), logprobs: null };
  });
  // A prompt Gemini blocked has no candidates: an empty answer filtered, as OpenAI reports it.
  if (choices.length === 0) choices.push({ index: 0, message: { role: "assistant", content: "", refusal: null }, finish_reason: "content_filter", logprobs: null });
  const usage = geminiUsage(resp.usageMetadata);
  return { body: { id: `chatcmpl-${rid}`, object: "chat.completion", created, model, choices, ...(usage ? { usage: openAiUsageBody(usage) } : {}) }, usage };
}

/** Turns streamGenerateContent responses into chat.completion.chunk objects, tracking usage. */
export class GeminiStreamTranslator {
  private head: ChunkHead;
  private started = new Set<number>();
  private calls = new Map<number, number>();
  private open = new Set<number>();
  usage: TokenUsage | null = null;
  /** Every candidate that started has finished: the last usage is the closing count. */
  get finished(): boolean {
    return this.started.size > 0 && this.open.size === 0;
  }

  constructor(model: string, created: number) {
    this.head = { id: "", created, model };
  }

  private chunk(index: number, delta: Json, finish: string | null = null): Json {
    return chunkOf(this.head, index, delta, finish);
  }

  feed(resp: Json): Json[] {
    if (resp.error) {
      const e = resp.error as Json;
      throw new AppError(e.code === 503 ? "UNAVAILABLE" : "UPSTREAM_ERROR", `provider failed mid-stream: ${String(e.message ?? e.status ?? "error")}`);
    }
    if (!this.head.id) this.head.id = `chatcmpl-${String(resp.responseId ?? "")}`;
    const usage = geminiUsage(resp.usageMetadata);
    if (usage) this.usage = usage;
    const out: Json[] = [];
    const cands = candidatesOf(resp);
    if (cands.length === 0 && (resp.promptFeedback as Json | undefined)?.blockReason) {
      this.started.add(0);
      out.push(this.chunk(0, { role: "assistant", content: "" }), this.chunk(0, {}, "content_filter"));
      return out;
    }
    cands.forEach((c, i) => {
      const index = indexOf(c, i);
      if (!this.started.has(index)) {
        this.started.add(index);
        this.open.add(index);
        out.push(this.chunk(index, { role: "assistant", content: "" }));
      }
      const before = this.calls.get(index) ?? 0;
      const s = said(c, String(resp.responseId ?? ""), index, before);
      if (s.text) out.push(this.chunk(index, { content: s.text }));
      // Gemini sends a call whole: its id, name and arguments go out in one delta.
      s.calls.forEach((call, k) => out.push(this.chunk(index, { tool_calls: [{ index: before + k, ...call }] })));
      this.calls.set(index, before + s.calls.length);
      if (c.finishReason !== undefined && c.finishReason !== null && this.open.delete(index)) {
        out.push(this.chunk(index, {}, geminiFinish(c.finishReason, (this.calls.get(index) ?? 0) > 0)));
      }
    });
    return out;
  }

  usageChunk(): Json | null {
    return usageChunkOf(this.head, this.usage);
  }
}

