// Validation of POST /v1/messages (and count_tokens) bodies: Anthropic's Messages API, checked against
// an allow-list down to the keys of content blocks, tools and cache_control. Anything else is refused
// with a 400 naming the field (Anthropic's `messages.0.content.1.type` style), never dropped and never
// forwarded: a forwarded field can cost more than the rate card charges (server tools, priority tier,
// 1-hour cache writes) or keep data in the operator's provider account (containers, MCP servers).
// Free-form values (text, tool input and schemas) pass as sent: the admission bound counts every byte.
import { AppError } from "../../core/errors.ts";
import type { ImageRef } from "../chat/chat.fields.ts";
import { cacheControl } from "../providers/anthropic.options.ts";
import type { Json } from "../providers/provider.ts";

export const MAX_MESSAGES = 10_000;
export const MAX_TOOLS = 128;
export const MAX_STOP_SEQUENCES = 16;
/** Anthropic's smallest thinking budget. */
export const MIN_THINKING_BUDGET = 1024;

export interface MessagesRequest {
  body: Json;
  model: string;
  stream: boolean;
  maxTokens: number;
  /** Image sources the image policy must vet (base64 ones as data: URLs). */
  images: ImageRef[];
}

const TOP = new Set(["model", "messages", "system", "max_tokens", "metadata", "stop_sequences", "stream", "temperature", "top_p", "top_k", "tools", "tool_choice", "thinking"]);
/** Fields of the real API the gateway does not forward, with why (the 400 says it). */
const REFUSED: Record<string, string> = {
  service_tier: "is not forwarded (a priority tier costs more than the rate card charges)",
  container: "is not forwarded (containers keep tenant data in the operator's provider account)",
  mcp_servers: "is not forwarded (the provider would connect to servers on the tenant's behalf)",
};
const set = (...xs: string[]) => new Set(xs);
const BLOCK_KEYS: Record<string, ReadonlySet<string>> = {
  text: set("type", "text", "cache_control", "citations"),
  image: set("type", "source", "cache_control"),
  tool_use: set("type", "id", "name", "input", "cache_control"),
  tool_result: set("type", "tool_use_id", "content", "is_error", "cache_control"),
  thinking: set("type", "thinking", "signature"),
  redacted_thinking: set("type", "data"),
};
const USER_BLOCKS = set("text", "image", "tool_result");
const ASSISTANT_BLOCKS = set("text", "tool_use", "thinking", "redacted_thinking");
const MEDIA = set("image/png", "image/jpeg", "image/gif", "image/webp");
const NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const ID = /^[a-zA-Z0-9_-]{1,256}$/;

const bad = (param: string, message: string) => new AppError("INVALID_PARAMS", `${param}: ${message}`, { details: { param } });
const isObject = (v: unknown): v is Json => v !== null && typeof v === "object" && !Array.isArray(v);

function object(v: unknown, at: string): Json {
  if (!isObject(v)) throw bad(at, "must be an object");
  return v;
}

function onlyKeys(o: Json, allowed: ReadonlySet<string>, at: string): void {
  for (const k in o) if (!allowed.has(k)) throw bad(`${at}.${k}`, "is not a field the gateway forwards");
}

function str(v: unknown, at: string): string {
  if (typeof v !== "string") throw bad(at, "must be a string");
  return v;
}

function int(v: unknown, at: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw bad(at, `must be an integer from ${min} to ${max}`);
  return v;
}

function image(b: Json, at: string, images: ImageRef[]): void {
  const src = object(b.source, `${at}.source`);
  if (src.type === "base64") {
    onlyKeys(src, set("type", "media_type", "data"), `${at}.source`);
    if (typeof src.media_type !== "string" || !MEDIA.has(src.media_type)) throw bad(`${at}.source.media_type`, `must be one of ${[...MEDIA].join(", ")}`);
    images.push({ param: `${at}.source.data`, url: `data:${src.media_type};base64,${str(src.data, `${at}.source.data`)}` });
  } else if (src.type === "url") {
    onlyKeys(src, set("type", "url"), `${at}.source`);
    images.push({ param: `${at}.source.url`, url: str(src.url, `${at}.source.url`) });
  } else throw bad(`${at}.source.type`, 'must be "base64" or "url"');
}

function block(v: unknown, at: string, allowed: ReadonlySet<string>, role: string, images: ImageRef[]): void {
  const b = object(v, at);
  if (typeof b.type !== "string" || !allowed.has(b.type)) throw bad(`${at}.type`, `content block type ${JSON.stringify(b.type)} is not accepted in ${role} messages (accepted: ${[...allowed].join(", ")})`);
  onlyKeys(b, BLOCK_KEYS[b.type]!, at);
  cacheControl(b, at);
  switch (b.type) {
    case "text":
      str(b.text, `${at}.text`);
      if (b.citations !== undefined && b.citations !== null && !Array.isArray(b.citations)) throw bad(`${at}.citations`, "must be an array");
      break;
    case "image":
      image(b, at, images);
      break;
    case "tool_use":
      if (typeof b.id !== "string" || !ID.test(b.id)) throw bad(`${at}.id`, 'must be 1 to 256 letters, digits, "_" or "-"');
      if (typeof b.name !== "string" || !NAME.test(b.name)) throw bad(`${at}.name`, 'must be 1 to 64 letters, digits, "_" or "-"');
      object(b.input, `${at}.input`);
      break;
    case "tool_result":
      if (typeof b.tool_use_id !== "string" || !ID.test(b.tool_use_id)) throw bad(`${at}.tool_use_id`, 'must be 1 to 256 letters, digits, "_" or "-"');
      if (b.is_error !== undefined && typeof b.is_error !== "boolean") throw bad(`${at}.is_error`, "must be a boolean");
      if (Array.isArray(b.content)) b.content.forEach((c, i) => block(c, `${at}.content.${i}`, set("text", "image"), "tool_result", images));
      else if (b.content !== undefined && typeof b.content !== "string") throw bad(`${at}.content`, "must be a string or an array of text and image blocks");
      break;
    case "thinking":
      str(b.thinking, `${at}.thinking`);
      str(b.signature, `${at}.signature`);
      break;
    case "redacted_thinking":
      str(b.data, `${at}.data`);
      break;
  }
}

function system(v: unknown): void {
  if (v === undefined || typeof v === "string") return;
  if (!Array.isArray(v)) throw bad("system", "must be a string or an array of text blocks");
  v.forEach((b, i) => {
    const at = `system.${i}`;
    const o = object(b, at);
    if (o.type !== "text") throw bad(`${at}.type`, 'must be "text"');
    onlyKeys(o, set("type", "text", "cache_control", "citations"), at);
    str(o.text, `${at}.text`);
    cacheControl(o, at);
  });
}

function tools(v: unknown): Set<string> {
  const names = new Set<string>();
  if (v === undefined) return names;
  if (!Array.isArray(v)) throw bad("tools", "must be an array");
  if (v.length > MAX_TOOLS) throw bad("tools", `has more than ${MAX_TOOLS} tools`);
  v.forEach((t, i) => {
    const at = `tools.${i}`;
    const o = object(t, at);
    if (o.type !== undefined && o.type !== "custom") throw bad(`${at}.type`, `server tool ${JSON.stringify(o.type)} is not forwarded (only client tools with an input_schema)`);
    onlyKeys(o, set("type", "name", "description", "input_schema", "cache_control"), at);
    if (typeof o.name !== "string" || !NAME.test(o.name)) throw bad(`${at}.name`, 'must be 1 to 64 letters, digits, "_" or "-"');
    if (names.has(o.name)) throw bad(`${at}.name`, `${JSON.stringify(o.name)} is declared twice`);
    names.add(o.name);
    if (o.description !== undefined) str(o.description, `${at}.description`);
    object(o.input_schema, `${at}.input_schema`);
    cacheControl(o, at);
  });
  return names;
}

function toolChoice(v: unknown, names: Set<string>): void {
  if (v === undefined) return;
  const o = object(v, "tool_choice");
  if (o.type === "auto" || o.type === "any") onlyKeys(o, set("type", "disable_parallel_tool_use"), "tool_choice");
  else if (o.type === "none") onlyKeys(o, set("type"), "tool_choice");
  else if (o.type === "tool") {
    onlyKeys(o, set("type", "name", "disable_parallel_tool_use"), "tool_choice");
    if (typeof o.name !== "string" || !names.has(o.name)) throw bad("tool_choice.name", "must name one of the request's tools");
  } else throw bad("tool_choice.type", 'must be "auto", "any", "tool" or "none"');
  if (o.disable_parallel_tool_use !== undefined && typeof o.disable_parallel_tool_use !== "boolean") throw bad("tool_choice.disable_parallel_tool_use", "must be a boolean");
  if ((o.type === "any" || o.type === "tool") && names.size === 0) throw bad("tool_choice", "needs tools: the request declares none");
}

function thinking(v: unknown, maxTokens: number | null): void {
  if (v === undefined) return;
  const o = object(v, "thinking");
  if (o.type === "disabled") return void onlyKeys(o, set("type"), "thinking");
  if (o.type !== "enabled") throw bad("thinking.type", 'must be "enabled" or "disabled"');
  onlyKeys(o, set("type", "budget_tokens"), "thinking");
  const budget = int(o.budget_tokens, "thinking.budget_tokens", MIN_THINKING_BUDGET, 10_000_000);
  if (maxTokens !== null && budget >= maxTokens) throw bad("thinking.budget_tokens", "must be less than max_tokens");
}

/**
 * Parses and vets a Messages body. `countOnly` (count_tokens) takes no max_tokens, stream, sampling
 * or metadata. Throws INVALID_PARAMS naming the first field that may not pass.
 */
export function parseMessagesRequest(raw: unknown, opts: { countOnly?: boolean; defaultModel?: string } = {}): MessagesRequest {
  if (!isObject(raw)) throw new AppError("INVALID_PARAMS", "the request body must be a JSON object");
  const body: Json = { ...raw };
  if (body.model === undefined && opts.defaultModel) body.model = opts.defaultModel;
  const allowed = opts.countOnly ? set("model", "messages", "system", "tools", "tool_choice", "thinking") : TOP;
  for (const k of Object.keys(body)) {
    if (allowed.has(k)) continue;
    // Own keys only: a client's key named like an Object.prototype member is not a reason.
    throw bad(k, Object.hasOwn(REFUSED, k) ? REFUSED[k]! : "is not a field the gateway forwards");
  }
  if (typeof body.model !== "string" || body.model.length === 0 || body.model.length > 256) throw bad("model", "is required and must be a model name");
  const maxTokens = opts.countOnly ? null : int(body.max_tokens, "max_tokens", 1, 10_000_000);
  const msgs = body.messages;
  if (!Array.isArray(msgs) || msgs.length === 0) throw bad("messages", "must be a non-empty array");
  if (msgs.length > MAX_MESSAGES) throw bad("messages", `has more than ${MAX_MESSAGES} messages`);
  const images: ImageRef[] = [];
  msgs.forEach((m, i) => {
    const at = `messages.${i}`;
    const o = object(m, at);
    onlyKeys(o, set("role", "content"), at);
    if (o.role !== "user" && o.role !== "assistant") throw bad(`${at}.role`, 'must be "user" or "assistant"');
    if (typeof o.content === "string") return;
    if (!Array.isArray(o.content)) throw bad(`${at}.content`, "must be a string or an array of content blocks");
    const allowedBlocks = o.role === "user" ? USER_BLOCKS : ASSISTANT_BLOCKS;
    o.content.forEach((b, j) => block(b, `${at}.content.${j}`, allowedBlocks, o.role as string, images));
  });
  system(body.system);
  const names = tools(body.tools);
  toolChoice(body.tool_choice, names);
  thinking(body.thinking, maxTokens);
  if (body.stream !== undefined && typeof body.stream !== "boolean") throw bad("stream", "must be a boolean");
  for (const f of ["temperature", "top_p"] as const) if (body[f] !== undefined && (typeof body[f] !== "number" || (body[f] as number) < 0 || (body[f] as number) > 1)) throw bad(f, "must be a number from 0 to 1");
  if (body.top_k !== undefined) int(body.top_k, "top_k", 0, 1_000_000);
  if (body.stop_sequences !== undefined) {
    const s = body.stop_sequences;
    if (!Array.isArray(s) || s.length > MAX_STOP_SEQUENCES || s.some((x) => typeof x !== "string" || x.length === 0 || x.length > 1000)) throw bad("stop_sequences", `must be an array of at most ${MAX_STOP_SEQUENCES} non-empty strings`);
  }
  if (body.metadata !== undefined) {
    const md = object(body.metadata, "metadata");
    onlyKeys(md, set("user_id"), "metadata");
    if (md.user_id !== undefined && md.user_id !== null && (typeof md.user_id !== "string" || md.user_id.length > 512)) throw bad("metadata.user_id", "must be a string of at most 512 characters");
  }
  return { body, model: body.model, stream: body.stream === true, maxTokens: maxTokens ?? 0, images };
}

/** Request headers a client may send that reach an anthropic-kind provider: only betas for features priced at the rate card. */
export const FORWARDED_BETAS: ReadonlySet<string> = new Set([
  "interleaved-thinking-2025-05-14",
  "fine-grained-tool-streaming-2025-05-14",
  "token-efficient-tools-2025-02-19",
  "prompt-caching-2024-07-31",
  "claude-code-20250219",
]);

/** The client's anthropic-beta header reduced to the betas the gateway forwards (others are features it does not meter). */
export function forwardedBetas(header: string | null): string | null {
  if (!header) return null;
  const kept = header.split(",").map((b) => b.trim()).filter((b) => FORWARDED_BETAS.has(b));
  return kept.length ? [...new Set(kept)].join(",") : null;
}
