// Validation of POST /v1/chat/completions bodies: the fields the gateway relies on are checked and a
// 400 names the problem (OpenAI's `param`); everything else passes through to the provider.
import { AppError } from "../../core/errors.ts";
import type { Json } from "../providers/provider.ts";

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

/** Added when tools are sent: providers describe tools to the model in text of their own. */
export const TOOLS_TOKEN_BOUND = 1_000;

/** About the size of JSON.stringify(v) (escapes aside), computed without building the string. */
function jsonBytes(v: unknown, images: { n: number }): number {
  if (typeof v === "string") return Buffer.byteLength(v) + 2;
  if (v === null || typeof v !== "object") return String(v).length;
  if (Array.isArray(v)) {
    let n = 2;
    for (const x of v) n += jsonBytes(x, images) + 1;
    return n;
  }
  const o = v as Json;
  if (o.type === "image_url") {
    images.n++;
    return 2;
  }
  let n = 2;
  for (const k in o) n += Buffer.byteLength(k) + 4 + jsonBytes(o[k], images);
  return n;
}

/**
 * An upper bound of the prompt's tokens: no tokenizer emits more tokens than the text has bytes, so
 * the UTF-8 size of the messages (their JSON, role markers included) bounds them; each image counts a
 * fixed amount (no provider charges more), and tools add their schemas plus the providers' framing.
 */
export function promptTokenBound(body: Json): number {
  const images = { n: 0 };
  let bytes = jsonBytes(body.messages, images);
  if (Array.isArray(body.tools) && body.tools.length > 0) bytes += jsonBytes(body.tools, images) + TOOLS_TOKEN_BOUND;
  return bytes + images.n * IMAGE_TOKEN_BOUND + 16;
}
