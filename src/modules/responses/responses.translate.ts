// Responses ⇄ chat completions, for providers that do not serve the Responses API: the conversation
// (earlier responses' items, then this request's) becomes chat messages, the options their chat
// fields; a chat completion becomes the Response's output items. The chat layer then vets the body
// exactly as it vets a client's chat request (chat.fields.ts), so nothing reaches a provider that
// chat completions would not let through.
import type { Json } from "../providers/provider.ts";
import { newItemId } from "./ids.ts";
import { invalid, type ResponsesRequest } from "./responses.request.ts";

const isObj = (v: unknown): v is Json => !!v && typeof v === "object" && !Array.isArray(v);

/** Chat messages for a conversation of normalized items, after the instructions as a system message. */
export function toChatMessages(instructions: string | null, items: Json[]): Json[] {
  const messages: Json[] = [];
  if (instructions) messages.push({ role: "system", content: instructions });
  for (const it of items) {
    if (it.type === "message") {
      const parts = it.content as Json[];
      if (it.role === "assistant") {
        const text = parts.map((p) => (p.type === "refusal" ? (p.refusal as string) : (p.text as string))).join("");
        messages.push({ role: "assistant", content: text });
      } else if (parts.every((p) => p.type === "input_text")) {
        messages.push({ role: it.role, content: parts.map((p) => p.text as string).join("") });
      } else {
        messages.push({
          role: it.role,
          content: parts.map((p) => (p.type === "input_image" ? { type: "image_url", image_url: { url: p.image_url, ...(p.detail !== undefined ? { detail: p.detail } : {}) } } : { type: "text", text: p.text ?? p.refusal })),
        });
      }
    } else if (it.type === "function_call") {
      // Consecutive calls belong to one assistant turn (with its text, if it had any).
      const last = messages[messages.length - 1];
      const call = { id: it.call_id, type: "function", function: { name: it.name, arguments: it.arguments } };
      if (last && last.role === "assistant") {
        last.tool_calls = [...((last.tool_calls as Json[] | undefined) ?? []), call];
        if (last.content === "") last.content = null;
      } else messages.push({ role: "assistant", content: null, tool_calls: [call] });
    } else if (it.type === "function_call_output") {
      messages.push({ role: "tool", tool_call_id: it.call_id, content: it.output });
    }
  }
  return messages;
}

/** The chat completions body for a Responses request over `items` (the whole conversation). */
export function toChatBody(req: ResponsesRequest, model: string | undefined, items: Json[]): Json {
  const b = req.body;
  const body: Json = { messages: toChatMessages(req.instructions, items) };
  if (model !== undefined) body.model = model;
  if (req.stream) body.stream = true;
  if (req.stream) body.stream_options = { include_usage: true };
  if (req.maxOutputTokens !== null) body.max_completion_tokens = req.maxOutputTokens;
  for (const f of ["temperature", "top_p", "parallel_tool_calls", "user", "safety_identifier", "prompt_cache_key"]) if (b[f] !== undefined) body[f] = b[f];
  if (b.tools !== undefined) body.tools = toChatTools(b.tools);
  if (b.tool_choice !== undefined) body.tool_choice = toChatToolChoice(b.tool_choice);
  if (b.text !== undefined) {
    if (!isObj(b.text)) throw invalid("text", "must be an object");
    for (const k of Object.keys(b.text)) if (k !== "format") throw invalid(`text.${k}`, "is not supported by this gateway");
    const f = b.text.format;
    if (f !== undefined) {
      if (!isObj(f)) throw invalid("text.format", "must be an object");
      if (f.type === "json_schema") {
        const { type: _t, ...schema } = f;
        body.response_format = { type: "json_schema", json_schema: schema };
      } else if (f.type === "json_object" || f.type === "text") body.response_format = { type: f.type };
      else throw invalid("text.format.type", 'must be "text", "json_object" or "json_schema"');
    }
  }
  if (b.reasoning !== undefined) {
    if (!isObj(b.reasoning)) throw invalid("reasoning", "must be an object");
    for (const k of Object.keys(b.reasoning)) if (k !== "effort" && b.reasoning[k] !== null) throw invalid(`reasoning.${k}`, "is not supported by this gateway");
    if (b.reasoning.effort !== undefined && b.reasoning.effort !== null) body.reasoning_effort = b.reasoning.effort;
  }
  return body;
}

function toChatTools(tools: unknown): Json[] {
  if (!Array.isArray(tools)) throw invalid("tools", "must be an array");
  return tools.map((t, i) => {
    if (!isObj(t) || t.type !== "function") throw invalid(`tools[${i}].type`, 'only "function" tools are supported by this gateway');
    for (const k of Object.keys(t)) if (!["type", "name", "description", "parameters", "strict"].includes(k)) throw invalid(`tools[${i}].${k}`, "is not supported");
    if (typeof t.name !== "string") throw invalid(`tools[${i}].name`, "must be a string");
    const fn: Json = { name: t.name };
    if (t.description !== undefined && t.description !== null) fn.description = t.description;
    if (t.parameters !== undefined && t.parameters !== null) fn.parameters = t.parameters;
    // Responses' `strict` defaults to true and chat's to false: say it only when the client did.
    if (t.strict !== undefined && t.strict !== null) fn.strict = t.strict;
    return { type: "function", function: fn };
  });
}

function toChatToolChoice(c: unknown): unknown {
  if (c === "auto" || c === "none" || c === "required") return c;
  if (isObj(c) && c.type === "function" && typeof c.name === "string") return { type: "function", function: { name: c.name } };
  throw invalid("tool_choice", 'must be "auto", "none", "required" or {type: "function", name}');
}

/** Output items of one chat completion choice (a message, then its function calls). */
export function toOutputItems(message: Json | undefined): Json[] {
  const out: Json[] = [];
  if (!message) return out;
  const content: Json[] = [];
  if (typeof message.content === "string" && message.content.length > 0) content.push({ type: "output_text", text: message.content, annotations: [], logprobs: [] });
  if (typeof message.refusal === "string" && message.refusal.length > 0) content.push({ type: "refusal", refusal: message.refusal });
  if (content.length > 0) out.push({ id: newItemId("msg"), type: "message", status: "completed", role: "assistant", content });
  for (const tc of (message.tool_calls as Json[] | undefined) ?? []) {
    const fn = (tc.function ?? {}) as Json;
    out.push({ id: newItemId("fc"), type: "function_call", status: "completed", call_id: tc.id, name: fn.name, arguments: fn.arguments ?? "" });
  }
  return out;
}

/** Chat usage → Responses usage. */
export function toResponsesUsage(u: unknown): Json | null {
  if (!isObj(u)) return null;
  const pd = (u.prompt_tokens_details ?? {}) as Json;
  const cd = (u.completion_tokens_details ?? {}) as Json;
  const input = Number(u.prompt_tokens ?? 0);
  const output = Number(u.completion_tokens ?? 0);
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: Number(pd.cached_tokens ?? 0) },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: Number(cd.reasoning_tokens ?? 0) },
    total_tokens: Number(u.total_tokens ?? input + output),
  };
}

/** Responses' status for a chat finish reason. */
export function finishStatus(reason: unknown): { status: "completed" | "incomplete"; incomplete_details: Json | null } {
  if (reason === "length") return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  if (reason === "content_filter") return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  return { status: "completed", incomplete_details: null };
}

/** The output items a stored response contributes to a later request's conversation (as input items). */
export function outputAsInput(output: unknown): Json[] {
  if (!Array.isArray(output)) return [];
  return (output as Json[]).filter((it) => it.type === "message" || it.type === "function_call");
}
