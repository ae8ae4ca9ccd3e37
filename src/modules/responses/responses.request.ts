// Validation of POST /v1/responses bodies and their input items. A field the gateway does not handle
// is refused with a 400 naming it (never dropped); input items are normalized (ids given, string
// content made into parts) because they are stored and listed back by input_items.
import { AppError } from "../../core/errors.ts";
import type { Json } from "../providers/provider.ts";
import { newItemId } from "./ids.ts";

export const MAX_INPUT_ITEMS = 10_000;

export interface ResponsesRequest {
  body: Json;
  model: string | undefined;
  items: Json[];
  instructions: string | null;
  previousId: string | null;
  store: boolean;
  stream: boolean;
  maxOutputTokens: number | null;
  metadata: Record<string, string>;
}

/** Fields handled by the gateway (translated, or passed through vetted); anything else is a 400. */
const KNOWN = new Set([
  "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "previous_response_id", "store", "stream", "stream_options",
  "max_output_tokens", "temperature", "top_p", "metadata", "user", "safety_identifier", "prompt_cache_key", "text", "reasoning", "truncation", "include",
]);

const ROLES = new Set(["user", "assistant", "system", "developer"]);

export const invalid = (param: string, message: string) => new AppError("INVALID_PARAMS", `${param}: ${message}`, { details: { param } });

const isObj = (v: unknown): v is Json => !!v && typeof v === "object" && !Array.isArray(v);

export function parseResponsesRequest(raw: unknown): ResponsesRequest {
  if (!isObj(raw)) throw new AppError("INVALID_PARAMS", "the request body must be a JSON object");
  const body: Json = {};
  // null means "not set" (SDKs send explicit nulls for unset options).
  for (const [k, v] of Object.entries(raw)) if (v !== null) body[k] = v;
  for (const k of Object.keys(body)) if (!KNOWN.has(k)) throw invalid(k, "is not supported by this gateway");
  if (body.model !== undefined && (typeof body.model !== "string" || body.model.length === 0 || body.model.length > 256)) throw invalid("model", "must be a model name");
  if (body.instructions !== undefined && typeof body.instructions !== "string") throw invalid("instructions", "must be a string");
  if (body.previous_response_id !== undefined && (typeof body.previous_response_id !== "string" || body.previous_response_id.length > 200)) throw invalid("previous_response_id", "must be a response id");
  for (const f of ["store", "stream", "parallel_tool_calls"]) if (body[f] !== undefined && typeof body[f] !== "boolean") throw invalid(f, "must be a boolean");
  let maxOut: number | null = null;
  if (body.max_output_tokens !== undefined) {
    const v = body.max_output_tokens;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 10_000_000) throw invalid("max_output_tokens", "must be an integer from 1 to 10000000");
    maxOut = v;
  }
  if (body.truncation !== undefined && body.truncation !== "disabled") throw invalid("truncation", 'only "disabled" is supported');
  if (body.include !== undefined && (!Array.isArray(body.include) || body.include.length > 0)) throw invalid("include", "is not supported by this gateway (send an empty list or leave it out)");
  if (body.stream_options !== undefined && !isObj(body.stream_options)) throw invalid("stream_options", "must be an object");
  const metadata = parseMetadata(body.metadata);
  return {
    body,
    model: body.model as string | undefined,
    items: normalizeInput(body.input),
    instructions: (body.instructions as string | undefined) ?? null,
    previousId: (body.previous_response_id as string | undefined) ?? null,
    store: body.store !== false,
    stream: body.stream === true,
    maxOutputTokens: maxOut,
    metadata,
  };
}

function parseMetadata(v: unknown): Record<string, string> {
  if (v === undefined) return {};
  if (!isObj(v)) throw invalid("metadata", "must be an object of strings");
  const keys = Object.keys(v);
  if (keys.length > 16) throw invalid("metadata", "has more than 16 keys");
  for (const k of keys) {
    if (k.length > 64) throw invalid("metadata", "keys are at most 64 characters");
    if (typeof v[k] !== "string" || (v[k] as string).length > 512) throw invalid(`metadata.${k.slice(0, 64)}`, "must be a string of at most 512 characters");
  }
  return v as Record<string, string>;
}

/** The input as a list of items with ids: a string is one user message; string content becomes one part. */
export function normalizeInput(input: unknown): Json[] {
  if (input === undefined) return [];
  if (typeof input === "string") return [{ id: newItemId("msg"), type: "message", role: "user", content: [{ type: "input_text", text: input }] }];
  if (!Array.isArray(input)) throw invalid("input", "must be a string or an array of input items");
  if (input.length > MAX_INPUT_ITEMS) throw invalid("input", `has more than ${MAX_INPUT_ITEMS} items`);
  return input.map((it, i) => normalizeItem(it, `input[${i}]`));
}

function str(v: unknown, param: string, max = 1_000_000_000): string {
  if (typeof v !== "string" || v.length > max) throw invalid(param, "must be a string");
  return v;
}

function normalizeItem(it: unknown, p: string): Json {
  if (!isObj(it)) throw invalid(p, "must be an object");
  const type = it.type ?? (it.role !== undefined ? "message" : undefined);
  const id = typeof it.id === "string" && it.id.length > 0 && it.id.length <= 200 ? it.id : undefined;
  switch (type) {
    case "message": {
      if (typeof it.role !== "string" || !ROLES.has(it.role)) throw invalid(`${p}.role`, `must be one of ${[...ROLES].join(", ")}`);
      const role = it.role;
      return { id: id ?? newItemId("msg"), type: "message", role, content: normalizeContent(it.content, role, `${p}.content`), ...(role === "assistant" ? { status: "completed" } : {}) };
    }
    case "function_call":
      return {
        id: id ?? newItemId("fc"),
        type: "function_call",
        call_id: str(it.call_id, `${p}.call_id`, 256),
        name: str(it.name, `${p}.name`, 128),
        arguments: str(it.arguments, `${p}.arguments`),
        status: "completed",
      };
    case "function_call_output": {
      const output = it.output;
      let text: string;
      if (typeof output === "string") text = output;
      else if (Array.isArray(output)) text = output.map((part, j) => (isObj(part) && (part.type === "input_text" || part.type === "output_text") && typeof part.text === "string" ? part.text : (() => { throw invalid(`${p}.output[${j}]`, "only input_text parts are supported in a function_call_output"); })())).join("");
      else throw invalid(`${p}.output`, "must be a string");
      return { id: id ?? newItemId("fco"), type: "function_call_output", call_id: str(it.call_id, `${p}.call_id`, 256), output: text, status: "completed" };
    }
    default:
      throw invalid(`${p}.type`, `input items of type ${JSON.stringify(String(type)).slice(0, 80)} are not supported (message, function_call, function_call_output)`);
  }
}

function normalizeContent(content: unknown, role: string, p: string): Json[] {
  const textType = role === "assistant" ? "output_text" : "input_text";
  if (typeof content === "string") return [role === "assistant" ? { type: "output_text", text: content, annotations: [] } : { type: textType, text: content }];
  if (!Array.isArray(content)) throw invalid(p, "must be a string or an array of content parts");
  return content.map((part, i): Json => {
    const q = `${p}[${i}]`;
    if (!isObj(part)) throw invalid(q, "must be an object");
    switch (part.type) {
      case "input_text":
      case "output_text":
        return part.type === "output_text" ? { type: "output_text", text: str(part.text, `${q}.text`), annotations: [] } : { type: "input_text", text: str(part.text, `${q}.text`) };
      case "refusal":
        return { type: "refusal", refusal: str(part.refusal, `${q}.refusal`) };
      case "input_image": {
        if (role === "assistant") throw invalid(`${q}.type`, "images are input: not in an assistant message");
        if (part.file_id !== undefined) throw invalid(`${q}.file_id`, "file ids are not supported by this gateway (send image_url)");
        const detail = part.detail;
        if (detail !== undefined && detail !== "auto" && detail !== "low" && detail !== "high") throw invalid(`${q}.detail`, 'must be "auto", "low" or "high"');
        return { type: "input_image", image_url: str(part.image_url, `${q}.image_url`), ...(detail !== undefined ? { detail } : {}) };
      }
      default:
        throw invalid(`${q}.type`, `content parts of type ${JSON.stringify(String(part.type)).slice(0, 80)} are not supported (input_text, input_image, output_text, refusal)`);
    }
  });
}
