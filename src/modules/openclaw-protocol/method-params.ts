// Reading a protocol-v4 method's params. Upstream's schemas are closed and large (chat.send has ~30
// optional fields its clients fill in); a method here reads only the fields it acts on, checks each
// one's type and bounds, and ignores the rest, so a newer client's extra field does not break it. A
// field of the wrong type is INVALID_REQUEST naming the method and the field, as upstream words it.
import { V4Error } from "./methods.ts";

export interface Params {
  /** A string field; `required` refuses it absent or empty. */
  str(name: string, opts?: { required?: boolean; max?: number }): string | undefined;
  /** An integer field within [min, max]. */
  int(name: string, opts: { min: number; max?: number }): number | undefined;
  bool(name: string): boolean | undefined;
  /** An array of non-empty strings, at most `max` of them, each at most `maxLength` characters. */
  strings(name: string, opts: { max: number; maxLength: number }): string[] | undefined;
  /** Refuses the request naming the field. */
  fail(name: string, why: string): never;
}

export function params(method: string, raw: Record<string, unknown>): Params {
  const p = raw && typeof raw === "object" && !Array.isArray(raw) ? raw : {};
  const fail = (name: string, why: string): never => {
    throw new V4Error("INVALID_REQUEST", `invalid ${method} params: ${name} ${why}`);
  };
  return {
    fail,
    str(name, opts = {}) {
      const v = p[name];
      if (v === undefined || v === null) return opts.required ? fail(name, "is required") : undefined;
      if (typeof v !== "string") return fail(name, "must be a string");
      if (opts.required && v.trim() === "") fail(name, "must not be empty");
      if (opts.max !== undefined && v.length > opts.max) fail(name, `must be at most ${opts.max} characters`);
      return v;
    },
    int(name, opts) {
      const v = p[name];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== "number" || !Number.isInteger(v)) return fail(name, "must be an integer");
      if (v < opts.min) fail(name, `must be at least ${opts.min}`);
      if (opts.max !== undefined && v > opts.max) fail(name, `must be at most ${opts.max}`);
      return v;
    },
    strings(name, opts) {
      const v = p[name];
      if (v === undefined || v === null) return undefined;
      if (!Array.isArray(v)) return fail(name, "must be an array of strings");
      if (v.length > opts.max) fail(name, `must have at most ${opts.max} items`);
      for (const x of v) if (typeof x !== "string" || x.length === 0 || x.length > opts.maxLength) fail(name, `must hold strings of 1-${opts.maxLength} characters`);
      return v as string[];
    },
    bool(name) {
      const v = p[name];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== "boolean") return fail(name, "must be a boolean");
      return v;
    },
  };
}
