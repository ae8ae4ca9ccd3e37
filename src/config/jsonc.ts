// JSON with comments and trailing commas, as the contract allows for config files.
import { parse, printParseErrorCode, type ParseError } from "jsonc-parser";
import { AppError } from "../core/errors.ts";

export function parseJsonc(text: string, label: string): unknown {
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
