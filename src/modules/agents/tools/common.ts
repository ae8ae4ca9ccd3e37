// What every built-in tool shares: its arguments checked against its own JSON Schema (the model may
// send anything), failures turned into results (a tool never throws at the run), and output cut to
// the agent's byte cap and marked, on a character boundary.
import { type TObject, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { AppError } from "../../../core/errors.ts";
import type { AgentTool, ToolContext, ToolResult } from "./tool.ts";

export function ok(content: string, truncated = false): ToolResult {
  return { content, isError: false, truncated };
}

export function fail(message: string): ToolResult {
  return { content: message, isError: true, truncated: false };
}

/** The message a failure shows the model: AppErrors by code and message; anything else without internals. */
export function describeError(err: unknown): string {
  if (err instanceof AppError) return `${err.code}: ${err.message}`;
  if (err instanceof Error && err.name === "AbortError") return "ABORTED: the run was stopped";
  return "INTERNAL: the tool failed unexpectedly";
}

/** `text` cut to at most `maxBytes` UTF-8 bytes (never inside a character). */
export function capText(text: string, maxBytes: number): { text: string; truncated: boolean } {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return { text, truncated: false };
  let end = Math.max(0, maxBytes);
  // Step back over UTF-8 continuation bytes so the cut falls on a character boundary.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return { text: bytes.subarray(0, end).toString("utf8"), truncated: true };
}

/** The marker appended to output that was cut. */
export function truncationNote(what: string): string {
  return `\n[output truncated: ${what}]`;
}

/** Final cap of a result's content at the agent's limit; anything cut is marked. */
export function capResult(r: ToolResult, maxBytes: number): ToolResult {
  const marker = truncationNote(`more than ${maxBytes} bytes`);
  const cut = capText(r.content, Math.max(0, maxBytes - Buffer.byteLength(marker)));
  if (!cut.truncated) return r;
  return { ...r, content: cut.text + marker, truncated: true };
}

/** True when the bytes look binary: a NUL in the first 8 KiB, or not valid UTF-8. */
export function looksBinary(bytes: Uint8Array): boolean {
  if (bytes.subarray(0, 8192).includes(0)) return true;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return false;
  } catch {
    // A file read only in part may end inside a character: judge it without its last 3 bytes.
    if (bytes.length <= 3) return true;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, bytes.length - 3));
      return false;
    } catch {
      return true;
    }
  }
}

/** The first schema violation, said plainly (path and why). */
function argumentProblem(schema: TObject, args: unknown): string | null {
  if (Value.Check(schema, args)) return null;
  const first = Value.Errors(schema, args).First();
  if (!first) return "arguments do not match the tool's schema";
  const where = first.path ? `argument ${first.path.slice(1).replace(/\//g, ".") || "(root)"}` : "arguments";
  return `${where}: ${first.message}`;
}

/**
 * Defines a built-in tool from a TypeBox schema (a JSON Schema object with additionalProperties false)
 * and a body. The wrapper checks the arguments, refuses work once the run is aborted, turns any throw
 * into an error result, and caps the content at the agent's output limit.
 */
export function defineTool<S extends TObject>(def: { name: string; description: string; parameters: S; run(args: Static<S>, ctx: ToolContext): Promise<ToolResult> | ToolResult }): AgentTool {
  // Providers take plain JSON Schema: drop TypeBox's symbol keys by a JSON round trip.
  const parameters = JSON.parse(JSON.stringify(def.parameters)) as Record<string, unknown>;
  return {
    name: def.name,
    description: def.description,
    parameters,
    async run(args, ctx) {
      try {
        const problem = argumentProblem(def.parameters, args);
        if (problem) return fail(`INVALID_PARAMS: ${problem}`);
        if (ctx.signal.aborted) return fail("ABORTED: the run was stopped before the tool started");
        const r = await def.run(args as Static<S>, ctx);
        return capResult(r, ctx.maxOutputBytes);
      } catch (err) {
        return capResult(fail(describeError(err)), ctx.maxOutputBytes);
      }
    },
  };
}
