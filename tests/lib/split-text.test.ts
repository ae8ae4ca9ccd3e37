// splitText (chat platforms' length limits) and equalSecret (constant-time secret compare).
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { equalSecret, hmacSha256Hex } from "../../src/lib/constant-time.ts";
import { splitText } from "../../src/lib/split-text.ts";

describe("splitText", () => {
  test("short text is one piece; empty text is one empty piece", () => {
    expect(splitText("hello", 10)).toEqual(["hello"]);
    expect(splitText("", 10)).toEqual([""]);
  });

  test("cuts at the last newline, else the last space, in the second half; else hard", () => {
    expect(splitText("aaaa\nbbbb cc", 8)).toEqual(["aaaa", "bbbb cc"]);
    expect(splitText("aaaaa bbbbb", 8)).toEqual(["aaaaa", "bbbbb"]);
    expect(splitText("abcdefghij", 4)).toEqual(["abcd", "efgh", "ij"]);
  });

  test("never separates a surrogate pair", () => {
    const pieces = splitText("a😀😀😀", 4);
    expect(pieces).toEqual(["a😀", "😀😀"]);
  });

  test("property: every piece fits, and the text is recovered (separators aside)", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", "b", " ", "\n", "é", "😀"), maxLength: 400 }), fc.integer({ min: 2, max: 50 }), (text, max) => {
        const pieces = splitText(text, max);
        for (const p of pieces) expect(p.length).toBeLessThanOrEqual(max);
        const strip = (s: string) => s.replace(/[\n ]/g, "");
        expect(strip(pieces.join(""))).toBe(strip(text));
        for (const p of pieces) expect(/[\ud800-\udbff]$/.test(p)).toBe(false);
      }),
    );
  });

  test("a nonsensical limit is refused", () => {
    expect(() => splitText("x", 1)).toThrow(RangeError);
  });
});

describe("equalSecret", () => {
  test("equal only when identical, whatever the lengths", () => {
    expect(equalSecret("s3cret", "s3cret")).toBe(true);
    expect(equalSecret("s3cret", "s3cre")).toBe(false);
    expect(equalSecret("", "s3cret")).toBe(false);
    expect(equalSecret(new TextEncoder().encode("abc"), "abc")).toBe(true);
  });

  test("hmacSha256Hex is HMAC-SHA256 in lower-case hex (RFC 4231 case 2)", () => {
    expect(hmacSha256Hex("Jefe", "what do ya want for nothing?")).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });
});
