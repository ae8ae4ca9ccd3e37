// JSON with comments and trailing commas, as the contract allows for config files.
import { parse, printParseErrorCode, visit, type ParseError } from "jsonc-parser";
import { AppError } from "../core/errors.ts";
import { DEFAULT_MAX_JSON_DEPTH, depthMessage, jsonDepthExcess, RESERVED_KEY_MESSAGE, RESERVED_KEYS } from "../lib/json-safe.ts";
import { formatKeyPath } from "./key-path.ts";

export function parseJsonc(text: string, label: string): unknown {
  // jsonc-parser recurses per level: a deep file would overflow the stack (or, in a tenant's
  // overlay, stall whoever loads it). Checked in one pass before anything is built.
  const tooDeep = jsonDepthExcess(text, DEFAULT_MAX_JSON_DEPTH, { comments: true });
  if (tooDeep !== null) {
    const { line, column } = lineColumn(text, tooDeep);
    throw new AppError("CONFIG_INVALID", `${label}:${line}:${column}: ${depthMessage(DEFAULT_MAX_JSON_DEPTH)}`);
  }
  // jsonc-parser builds objects by assignment, so a "__proto__" key would set the object's prototype
  // (invisible to validation, yet read through): refuse reserved names before building anything.
  let reserved: { at: (string | number)[]; line: number; column: number } | null = null;
  visit(
    text,
    {
      onObjectProperty(name, _offset, _length, line, column, pathSupplier) {
        if (!reserved && RESERVED_KEYS.has(name)) reserved = { at: [...pathSupplier(), name], line: line + 1, column: column + 1 };
      },
    },
    { allowTrailingComma: true, disallowComments: false, allowEmptyContent: true },
  );
  if (reserved) {
    const r = reserved as { at: (string | number)[]; line: number; column: number };
    throw new AppError("CONFIG_INVALID", `${label}:${r.line}:${r.column}: "${formatKeyPath(r.at)}" ${RESERVED_KEY_MESSAGE}`);
  }
  const errors: ParseError[] = [];
  const value = parse(text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: true });
  if (errors.length > 0) {
    const first = errors[0]!;
    const { line, column } = lineColumn(text, first.offset);
    throw new AppError("CONFIG_INVALID", `${label}:${line}:${column}: ${describe(printParseErrorCode(first.error))}`);
  }
  return value;
}

function describe(code: string): string {
  return code.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, column: offset - last };
}
