// The chat fields of the Anthropic translation that have no direct Messages equivalent, and the
// text parts that may carry cache marks: response_format → a forced tool whose input is the answer,
// reasoning_effort → a thinking budget below the output cap, cache_control carried as is (5-minute
// writes only). Each is translated or refused with a 400 naming it (anthropic.translate.ts).
import { AppError } from "../../core/errors.ts";
import type { Json } from "./provider.ts";

const bad = (param: string, message: string) => new AppError("INVALID_PARAMS", `${param}: ${message}`, { details: { param } });

/** Thinking budgets for OpenAI's reasoning efforts ("minimal" and "none" ask for no thinking). */
export const THINKING_BUDGET: Record<string, number> = { low: 1024, medium: 4096, high: 16_384 };
const EFFORTS = new Set(["none", "minimal", "low", "medium", "high"]);
/** The forced tool a response_format becomes when its schema has no usable name. */
export const JSON_TOOL = "json_response";
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export function cacheControl(part: Json, param: string): Json | undefined {
  const cc = part.cache_control;
  if (cc === undefined || cc === null) return undefined;
  if (typeof cc !== "object" || Array.isArray(cc)) throw bad(`${param}.cache_control`, "must be an object");
  for (const k of Object.keys(cc)) if (k !== "type" && k !== "ttl") throw bad(`${param}.cache_control.${k}`, "is not a field the gateway forwards");
  if ((cc as Json).type !== "ephemeral") throw bad(`${param}.cache_control.type`, 'must be "ephemeral"');
  const ttl = (cc as Json).ttl;
  if (ttl !== undefined && ttl !== "5m") throw bad(`${param}.cache_control.ttl`, 'only "5m" is accepted (a longer cache write costs more than the rate card charges)');
  return cc as Json;
}

export function textPart(p: unknown, param: string): { text: string; cache?: Json } {
  const part = p as Json;
  if (!part || typeof part !== "object" || part.type !== "text" || typeof part.text !== "string") throw bad(param, "only text parts are allowed here");
  for (const k of Object.keys(part)) if (k !== "type" && k !== "text" && k !== "cache_control") throw bad(`${param}.${k}`, "is not supported for this model");
  return { text: part.text, cache: cacheControl(part, param) };
}

/** A message's text parts joined, with the last cache_control mark among them. */
export function textAndCache(content: unknown, param: string): { text: string; cache?: Json } {
  if (typeof content === "string") return { text: content };
  if (content === null || content === undefined) return { text: "" };
  if (!Array.isArray(content)) throw bad(param, "must be a string or an array of content parts");
  let cache: Json | undefined;
  const text = content
    .map((p, i) => {
      const t = textPart(p, `${param}[${i}]`);
      if (t.cache) cache = t.cache;
      return t.text;
    })
    .join("\n");
  return { text, cache };
}

/** The forced tool `response_format` becomes (null: none, or plain text). */
export function jsonToolOf(body: Json): string | null {
  const rf = body.response_format as Json | undefined | null;
  if (!rf || rf.type === "text") return null;
  const name = (rf.json_schema as Json | undefined)?.name;
  return rf.type === "json_schema" && typeof name === "string" && TOOL_NAME.test(name) ? name : JSON_TOOL;
}

/** response_format → a forced tool with the schema as its input_schema (its input is the answer). */
export function structuredOutput(body: Json, req: Json): void {
  const name = jsonToolOf(body);
  if (!name) return;
  if (req.tools) throw bad("response_format", "cannot be combined with tools for this model (it is sent as a forced tool)");
  const rf = body.response_format as Json;
  const js = (rf.json_schema ?? {}) as Json;
  const schema = rf.type === "json_schema" && js.schema !== undefined ? (js.schema as Json) : { type: "object" };
  if (!schema || typeof schema !== "object" || Array.isArray(schema) || (schema.type !== undefined && schema.type !== "object")) {
    throw bad("response_format.json_schema.schema", 'must describe an object ("type": "object") for this model');
  }
  const description = typeof js.description === "string" ? js.description : "Answer by calling this tool: its input is the JSON response.";
  req.tools = [{ name, description, input_schema: { type: "object", ...schema } }];
  req.tool_choice = { type: "tool", name };
}

/** reasoning_effort → extended thinking with a budget below the output cap. */
export function thinking(body: Json, req: Json, maxTokens: number): void {
  const effort = body.reasoning_effort;
  if (effort === undefined || effort === null) return;
  if (typeof effort !== "string" || !EFFORTS.has(effort)) throw bad("reasoning_effort", `must be one of ${[...EFFORTS].join(", ")}`);
  const wanted = THINKING_BUDGET[effort];
  if (wanted === undefined) return; // none, minimal: no thinking
  const forced = (req.tool_choice as Json | undefined)?.type;
  if (forced === "any" || forced === "tool") throw bad("reasoning_effort", "cannot be combined with a forced tool (tool_choice or response_format) for this model");
  if (body.temperature !== undefined && body.temperature !== null && body.temperature !== 1) throw bad("temperature", "must be 1 or unset with reasoning_effort for this model");
  if (body.top_p !== undefined && body.top_p !== null) throw bad("top_p", "cannot be combined with reasoning_effort for this model");
  const budget = Math.min(wanted, maxTokens - 1);
  if (budget < THINKING_BUDGET.low!) throw bad("reasoning_effort", `needs an output cap above ${THINKING_BUDGET.low} tokens for this model (max_tokens)`);
  req.thinking = { type: "enabled", budget_tokens: budget };
}
