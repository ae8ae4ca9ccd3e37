// What of a chat completions body may reach a provider: an allow-list per provider kind, down to the
// keys of messages, content parts, tools and response formats. Anything else is refused with a 400
// naming the field, never dropped (a dropped field is input the tenant silently loses) and never
// forwarded (a forwarded field can cost more than the rate card charges, keep data in the operator's
// provider account, or attribute traffic to someone else there). Free-form values (JSON schemas,
// tool arguments, logit_bias, opt-in fields) pass as sent: the admission bound counts every byte
// that is sent, whatever it holds. README "What reaches a provider" lists the result.
import { OPT_IN_CHAT_FIELDS, type PROVIDER_KINDS } from "../../config/schema.ts";
import { AppError } from "../../core/errors.ts";
import type { Json } from "../providers/provider.ts";

export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** An image URL the image policy must vet, with the field that holds it (for the 400). */
export interface ImageRef {
  param: string;
  url: string;
}

const set = (...xs: string[]) => new Set(xs);

const COMMON = ["model", "messages", "max_tokens", "max_completion_tokens", "stream", "stream_options", "n", "temperature", "top_p", "stop", "tools", "tool_choice", "parallel_tool_calls", "user"];
const OPENAI_ONLY = [
  "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "seed", "response_format", "functions", "function_call",
  "reasoning_effort", "verbosity", "safety_identifier", "prompt_cache_key",
];
const OPT_IN: ReadonlySet<string> = new Set(OPT_IN_CHAT_FIELDS);
/** Every field name the gateway knows: a null in one of them means "not set" and is not forwarded. */
const KNOWN: ReadonlySet<string> = new Set([...COMMON, ...OPENAI_ONLY, ...OPT_IN_CHAT_FIELDS]);

interface KindSpec {
  top: ReadonlySet<string>;
  message: Record<string, ReadonlySet<string>>;
  /** Content part types allowed, by role. */
  parts: Record<string, ReadonlySet<string>>;
  toolFunction: ReadonlySet<string>;
  streamOptions: ReadonlySet<string>;
  /** Keys of content parts, by part type, where they differ from PART_KEYS. */
  partKeys?: Record<string, ReadonlySet<string>>;
}

/**
 * Kinds translated through Messages-style turns (providers/blocks.ts): the anthropic kind's messages
 * and parts, and these top-level fields. Spelled out rather than derived from the anthropic entry: a
 * field that kind learns to translate is not one these translations carry.
 */
function messagesLike(extra: string[]): KindSpec {
  return {
    top: new Set([...COMMON, ...extra]),
    message: {
      system: set("role", "content"),
      developer: set("role", "content"),
      user: set("role", "content"),
      assistant: set("role", "content", "tool_calls"),
      tool: set("role", "content", "tool_call_id"),
    },
    parts: { system: set("text"), developer: set("text"), user: set("text", "image_url"), assistant: set("text"), tool: set("text") },
    toolFunction: set("name", "description", "parameters"),
    streamOptions: set("include_usage"),
  };
}

const SPECS: Record<Exclude<ProviderKind, "azure-openai">, KindSpec> = {
  openai: {
    top: new Set([...COMMON, ...OPENAI_ONLY]),
    message: {
      system: set("role", "content", "name"),
      developer: set("role", "content", "name"),
      user: set("role", "content", "name"),
      assistant: set("role", "content", "name", "tool_calls", "function_call", "refusal"),
      tool: set("role", "content", "tool_call_id"),
      function: set("role", "content", "name"),
    },
    parts: { system: set("text"), developer: set("text"), user: set("text", "image_url"), assistant: set("text", "refusal"), tool: set("text"), function: set("text") },
    toolFunction: set("name", "description", "parameters", "strict"),
    streamOptions: set("include_usage", "include_obfuscation"),
  },
  // What anthropic.translate.ts carries over, and nothing it would drop (it checks the values of the
  // fields it translates: response_format's schema, reasoning_effort, cache_control).
  anthropic: {
    top: new Set([...COMMON, "response_format", "reasoning_effort"]),
    message: {
      system: set("role", "content"),
      developer: set("role", "content"),
      user: set("role", "content"),
      assistant: set("role", "content", "tool_calls"),
      tool: set("role", "content", "tool_call_id"),
    },
    parts: { system: set("text"), developer: set("text"), user: set("text", "image_url"), assistant: set("text"), tool: set("text") },
    toolFunction: set("name", "description", "parameters"),
    streamOptions: set("include_usage"),
    partKeys: { text: set("type", "text", "cache_control") },
  },
  gemini: messagesLike(["seed", "presence_penalty", "frequency_penalty", "response_format"]),
  bedrock: messagesLike([]),
};

/** Every message field the gateway knows, for any kind. */
const MESSAGE_KEYS: ReadonlySet<string> = new Set(Object.values(SPECS.openai.message).flatMap((k) => [...k]));

const PART_KEYS: Record<string, ReadonlySet<string>> = { text: set("type", "text"), image_url: set("type", "image_url"), refusal: set("type", "refusal") };

const bad = (param: string, message: string) => new AppError("INVALID_PARAMS", `${param}: ${message}`, { details: { param } });
const isObject = (v: unknown): v is Json => v !== null && typeof v === "object" && !Array.isArray(v);

function onlyKeys(o: Json, allowed: ReadonlySet<string>, at: string, why = "is not a field the gateway forwards"): void {
  for (const k in o) if (!allowed.has(k)) throw bad(`${at}${at ? "." : ""}${k}`, why);
}

function object(v: unknown, param: string): Json {
  if (!isObject(v)) throw bad(param, "must be an object");
  return v;
}

function content(v: unknown, role: string, spec: KindSpec, at: string, images: ImageRef[]): void {
  if (!Array.isArray(v)) return; // strings and null were checked by parseChatRequest
  const allowed = spec.parts[role]!;
  v.forEach((p, j) => {
    const pat = `${at}[${j}]`;
    const part = object(p, pat);
    if (typeof part.type !== "string" || !allowed.has(part.type)) {
      throw bad(`${pat}.type`, `content part type ${JSON.stringify(part.type)} is not accepted in ${role} messages for this model (accepted: ${[...allowed].join(", ")})`);
    }
    onlyKeys(part, spec.partKeys?.[part.type] ?? PART_KEYS[part.type]!, pat);
    if (part.type === "image_url") {
      const img = object(part.image_url, `${pat}.image_url`);
      onlyKeys(img, set("url", "detail"), `${pat}.image_url`);
      if (typeof img.url !== "string") throw bad(`${pat}.image_url.url`, "must be a string");
      images.push({ param: `${pat}.image_url.url`, url: img.url });
    } else if (typeof part[part.type] !== "string") throw bad(`${pat}.${part.type}`, "must be a string");
  });
}

function toolCalls(v: unknown, at: string): void {
  if (v === undefined || v === null) return;
  if (!Array.isArray(v)) throw bad(at, "must be an array");
  v.forEach((c, i) => {
    const call = object(c, `${at}[${i}]`);
    onlyKeys(call, set("id", "type", "function"), `${at}[${i}]`);
    if (call.type !== undefined && call.type !== "function") throw bad(`${at}[${i}].type`, 'must be "function"');
    onlyKeys(object(call.function, `${at}[${i}].function`), set("name", "arguments"), `${at}[${i}].function`);
  });
}

function tools(v: unknown, spec: KindSpec): void {
  if (!Array.isArray(v)) return;
  v.forEach((t, i) => {
    const tool = object(t, `tools[${i}]`);
    onlyKeys(tool, set("type", "function"), `tools[${i}]`);
    if (tool.type !== "function") throw bad(`tools[${i}].type`, 'only {"type":"function"} tools are accepted');
    onlyKeys(object(tool.function, `tools[${i}].function`), spec.toolFunction, `tools[${i}].function`);
  });
}

function choice(v: unknown, param: string, words: string[], nameAt: "function" | null): void {
  if (typeof v === "string") {
    if (!words.includes(v)) throw bad(param, `must be one of ${words.join(", ")} or an object naming a function`);
    return;
  }
  const o = object(v, param);
  if (nameAt === null) return void onlyKeys(o, set("name"), param);
  onlyKeys(o, set("type", "function"), param);
  if (o.type !== "function") throw bad(`${param}.type`, 'must be "function"');
  onlyKeys(object(o.function, `${param}.function`), set("name"), `${param}.function`);
}

function responseFormat(v: unknown): void {
  const o = object(v, "response_format");
  if (o.type === "text" || o.type === "json_object") return void onlyKeys(o, set("type"), "response_format");
  if (o.type !== "json_schema") throw bad("response_format.type", 'must be "text", "json_object" or "json_schema"');
  onlyKeys(o, set("type", "json_schema"), "response_format");
  onlyKeys(object(o.json_schema, "response_format.json_schema"), set("name", "description", "schema", "strict"), "response_format.json_schema");
}

/**
 * Checks `body` (already through parseChatRequest) against the allow-list of `kind`, with the opt-in
 * fields in `enabled`; removes top-level fields that are null (not set). Returns the image URLs the
 * image policy must vet. Throws INVALID_PARAMS naming the first field that may not pass.
 */
export function vetChatFields(body: Json, kind: ProviderKind, enabled: ReadonlySet<string>): ImageRef[] {
  // Azure OpenAI speaks OpenAI's wire; the opt-in fields stay with kind "openai" (config check).
  const spec = SPECS[kind === "azure-openai" ? "openai" : kind];
  for (const k of Object.keys(body)) {
    if (body[k] === null && KNOWN.has(k)) {
      delete body[k];
      continue;
    }
    if (spec.top.has(k) || (kind === "openai" && enabled.has(k) && OPT_IN.has(k))) continue;
    if (OPT_IN.has(k) && kind === "openai") throw bad(k, "is not enabled for this model (the operator may allow it per model)");
    if (KNOWN.has(k)) throw bad(k, "is not supported for this model");
    throw bad(k, "is not a field the gateway forwards");
  }
  const images: ImageRef[] = [];
  (body.messages as Json[]).forEach((m, i) => {
    const at = `messages[${i}]`;
    const role = m.role as string;
    const keys = spec.message[role];
    if (!keys) throw bad(`${at}.role`, `role ${JSON.stringify(role)} is not supported for this model`);
    // A null message field this kind does not take is "not set", as at the top level: an SDK that
    // sends back the assistant message it got (`refusal: null`) is not refused for it.
    for (const k of Object.keys(m)) if (m[k] === null && !keys.has(k) && MESSAGE_KEYS.has(k)) delete m[k];
    onlyKeys(m, keys, at);
    content(m.content, role, spec, `${at}.content`, images);
    if (role === "assistant") toolCalls(m.tool_calls, `${at}.tool_calls`);
    if (m.function_call !== undefined && m.function_call !== null) onlyKeys(object(m.function_call, `${at}.function_call`), set("name", "arguments"), `${at}.function_call`);
  });
  if (body.stream_options !== undefined && body.stream_options !== null) onlyKeys(body.stream_options as Json, spec.streamOptions, "stream_options");
  tools(body.tools, spec);
  if (body.tool_choice !== undefined) choice(body.tool_choice, "tool_choice", ["none", "auto", "required"], "function");
  if (body.function_call !== undefined) choice(body.function_call, "function_call", ["none", "auto"], null);
  if (body.functions !== undefined) {
    if (!Array.isArray(body.functions)) throw bad("functions", "must be an array");
    body.functions.forEach((f, i) => onlyKeys(object(f, `functions[${i}]`), set("name", "description", "parameters"), `functions[${i}]`));
  }
  if (body.response_format !== undefined) responseFormat(body.response_format);
  return images;
}
