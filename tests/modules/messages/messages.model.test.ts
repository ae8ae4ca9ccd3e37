// Validation of /v1/messages bodies against client keys named like Object.prototype members
// (red-team finding F2 of issue 15): they are unknown fields like any other, named in the 400,
// never read through the prototype of a lookup table.
import { describe, expect, test } from "bun:test";
import { AppError } from "../../../src/core/errors.ts";
import { parseMessagesRequest } from "../../../src/modules/messages/messages.model.ts";

const base = { model: "m", max_tokens: 10, messages: [{ role: "user", content: "hi" }] };

function refusal(body: unknown, countOnly = false): string {
  try {
    parseMessagesRequest(body, { countOnly });
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return (err as AppError).message;
  }
  throw new Error("accepted");
}

describe("keys named like prototype members", () => {
  for (const key of ["constructor", "toString", "hasOwnProperty", "valueOf", "__proto__"]) {
    test(`${key}: refused as a field the gateway does not forward (messages and count_tokens)`, () => {
      const body = JSON.parse(`{"${key}": 1, "model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}`);
      expect(refusal(body)).toBe(`${key}: is not a field the gateway forwards`);
      const { max_tokens: _, ...count } = body;
      expect(refusal(count, true)).toBe(`${key}: is not a field the gateway forwards`);
    });
  }

  test("a refused field of the real API keeps its reason", () => {
    expect(refusal({ ...base, service_tier: "auto" })).toStartWith("service_tier: is not forwarded (a priority tier");
  });
});
