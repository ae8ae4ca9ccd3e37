// Validation of POST /v1/chat/completions bodies: the fields the gateway relies on are checked and a
// 400 names the problem (OpenAI's `param`); chat.fields.ts then decides what may reach the provider.
// Also the input bound admission reserves, computed from the exact upstream payload.
import { AppError } from "../../core/errors.ts";
import type { Json, UpstreamRequest } from "../providers/provider.ts";

const ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function"]);
export const MAX_MESSAGES = 10_000;
export const MAX_CHOICES = 16;
/** Counted for each image part when bounding prompt tokens (no provider charges more per image). */
export const IMAGE_TOKEN_BOUND = 8_000;

export interface ChatRequest {
  body: Json;
  model: string;
  stream: boolean;
  includeUsage: boolean;
  /** max_completion_tokens or max_tokens as the client sent it, and which field it used. */
  requestedMaxTokens: number | null;
  tokenField: "max_tokens" | "max_completion_tokens";
  choices: number;
}

const invalid = (param: string, message: string) => new AppError("INVALID_PARAMS", `${param}: ${message}`, { details: { param } });

function positiveInt(v: unknown, param: string, max: number): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) throw invalid(param, `must be an integer from 1 to ${max}`);
  return v;
}

export function parseChatRequest(raw: unknown, defaultModel?: string): ChatRequest {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new AppError("INVALID_PARAMS", "the request body must be a JSON object");
  const body = { ...(raw as Json) };
  if (body.model === undefined && defaultModel) body.model = defaultModel;
  if (typeof body.model !== "string" || body.model.length === 0 || body.model.length > 256) throw invalid("model", "is required and must be a model name");
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw invalid("messages", "must be a non-empty array");
  if (messages.length > MAX_MESSAGES) throw invalid("messages", `has more than ${MAX_MESSAGES} messages`);
  messages.forEach((m, i) => {
    if (!m || typeof m !== "object" || Array.isArray(m)) throw invalid(`messages[${i}]`, "must be an object");
    const role = (m as Json).role;
    if (typeof role !== "string" || !ROLES.has(role)) throw invalid(`messages[${i}].role`, `must be one of ${[...ROLES].join(", ")}`);
    const content = (m as Json).content;
    if (!(typeof content === "string" || Array.isArray(content) || (content === null && role === "assistant") || (content === undefined && role === "assistant"))) {
      throw invalid(`messages[${i}].content`, "must be a string or an array of content parts");
    }
  });
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") throw invalid("stream", "must be a boolean");
  const opts = body.stream_options;
  if (opts !== undefined && opts !== null && (typeof opts !== "object" || Array.isArray(opts))) throw invalid("stream_options", "must be an object");
  if (body.tools !== undefined && !Array.isArray(body.tools)) throw invalid("tools", "must be an array");
  for (const f of ["user", "safety_identifier", "prompt_cache_key"]) {
    if (body[f] !== undefined && body[f] !== null && (typeof body[f] !== "string" || (body[f] as string).length > 512)) throw invalid(f, "must be a string of at most 512 characters");
  }
  const mct = positiveInt(body.max_completion_tokens, "max_completion_tokens", 10_000_000);
  const mt = positiveInt(body.max_tokens, "max_tokens", 10_000_000);
  const n = positiveInt(body.n, "n", MAX_CHOICES) ?? 1;
  return {
    body,
    model: body.model,
    stream: body.stream === true,
    includeUsage: body.stream === true && (opts as Json | undefined)?.include_usage === true,
    requestedMaxTokens: mct ?? mt,
    tokenField: mct !== null ? "max_completion_tokens" : "max_tokens",
    choices: n,
  };
}

/** Added when tools, functions or a response schema are sent: providers describe them to the model in text of their own. */
export const TOOLS_TOKEN_BOUND = 1_000;

/**
 * An upper bound of the input tokens a provider can bill for `req`, computed from the bytes that are
 * sent (after translation): no tokenizer emits more tokens than the text has bytes, so the payload's
 * size bounds every field in it, known or not. Image data is the one thing a provider does not read as
 * text: it counts a fixed amount per image instead of its bytes (no provider charges more). Framing a
 * provider adds around tool calls and results in the history is added as the provider declares it.
 */
export function inputTokenBound(req: UpstreamRequest): number {
  return Buffer.byteLength(req.payload) - req.imageBytes + req.images * IMAGE_TOKEN_BOUND + (req.structured ? TOOLS_TOKEN_BOUND : 0) + req.framingTokens + 16;
}

/**
 * The output cap sent to the provider, or null for none. A field the client did not send is added
 * only where the gateway must hold the output to what it reserved: a cap below the model's own limit
 * (the tenant's cap, a quota clamp), a model without a declared limit (the default cap is the
 * gateway's, the provider would not apply it), or a provider that requires one (Anthropic). The
 * field is the one the model takes where the operator set it (reasoning models refuse max_tokens).
 */
export function outputCap(
  req: ChatRequest,
  model: { maxOutputTokens: number; outputLimitDeclared: boolean; maxTokensField: "max_tokens" | "max_completion_tokens" | null; provider: { kind: string } },
  maxOut: number,
): { field: "max_tokens" | "max_completion_tokens"; value: number } | null {
  const needed = req.requestedMaxTokens !== null || maxOut < model.maxOutputTokens || !model.outputLimitDeclared || model.provider.kind === "anthropic";
  return needed ? { field: model.maxTokensField ?? req.tokenField, value: maxOut } : null;
}
