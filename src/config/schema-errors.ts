// TypeBox's validation errors in words an operator can act on: a union names the values it accepts
// ("must be one of "openai", "anthropic"", not "expected union value"), and the value given is shown
// when it is short and cannot be a secret.
import type { TSchema } from "@sinclair/typebox";
import { ValueErrorType, type ValueError } from "@sinclair/typebox/value";
import { SECRET_KEY_NAMES } from "./schema.ts";

type S = TSchema & { const?: unknown; type?: string | string[]; anyOf?: S[]; minimum?: number; maximum?: number; enum?: unknown[] };

/** One schema as a phrase: `"openai"`, `an integer ≥ 0`, `null`. */
export function describeSchema(s: S): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(", ");
  if (s.anyOf) return s.anyOf.map(describeSchema).join(" or ");
  const range = [s.minimum !== undefined ? `≥ ${s.minimum}` : "", s.maximum !== undefined ? `≤ ${s.maximum}` : ""].filter(Boolean).join(" and ");
  switch (s.type) {
    case "integer":
      return `an integer${range ? ` ${range}` : ""}`;
    case "number":
      return `a number${range ? ` ${range}` : ""}`;
    case "string":
      return "a string";
    case "boolean":
      return "true or false";
    case "null":
      return "null";
    case "object":
      return "an object";
    case "array":
      return "an array";
    default:
      return "a valid value";
  }
}

function shown(e: ValueError): string {
  const last = e.path.split("/").pop() ?? "";
  if (SECRET_KEY_NAMES.has(last)) return "";
  const v = e.value;
  if (v === null || typeof v === "number" || typeof v === "boolean") return ` (got ${JSON.stringify(v)})`;
  if (typeof v === "string" && v.length <= 64) return ` (got ${JSON.stringify(v)})`;
  return "";
}

/** The problem with one value, starting lower-case (`must be one of "a", "b" (got "c")`). */
export function describeError(e: ValueError): string {
  if (e.message === "Unexpected property") return "is not a known key";
  if (e.type === ValueErrorType.Union) {
    const members = ((e.schema as S).anyOf ?? []) as S[];
    const literals = members.every((m) => m.const !== undefined);
    return `${literals ? `must be one of ${members.map(describeSchema).join(", ")}` : `must be ${members.map(describeSchema).join(" or ")}`}${shown(e)}`;
  }
  const m = e.message.charAt(0).toLowerCase() + e.message.slice(1);
  return `${m}${shown(e)}`;
}
