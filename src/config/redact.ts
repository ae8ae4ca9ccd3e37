// `config show` output: secrets replaced, structure kept, so operators can share it in a bug report.
import { SECRET_KEY_NAMES } from "./schema.ts";

export const REDACTED = "[redacted]";

export function redactConfig(value: unknown, parents: string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v) => redactConfig(v, parents));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const underHeaders = parents.length >= 2 && parents[0] === "providers" && parents[2] === "headers";
      const secret = SECRET_KEY_NAMES.has(k) || (parents[0] === "providers" && parents.length === 2 && k === "headers") || (parents[0] === "telemetry" && k === "headers");
      if ((secret || underHeaders) && v !== undefined && v !== null && v !== "") {
        out[k] = typeof v === "object" ? redactConfig(Object.fromEntries(Object.keys(v).map((h) => [h, REDACTED]))) : REDACTED;
      } else {
        out[k] = redactConfig(v, [...parents, k]);
      }
    }
    return out;
  }
  return value;
}
