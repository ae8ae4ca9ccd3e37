import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { TENANT_ID_PATTERN } from "../../src/lib/ids.ts";
import { buildToken, digestMatches, displayPrefix, mintToken, parseToken, sha256, TOKEN_REGEX_SOURCE } from "../../src/lib/token-format.ts";

// Golden vectors computed independently (Python: zlib.crc32 + a base62 encoder), not by this code.
const GOLDEN: [string, Uint8Array, string][] = [
  ["acme", Uint8Array.from({ length: 16 }, (_, i) => i), "ocmu_acme_000SYW7RiJxkEgOGusQGwp1HRH4J"],
  ["a", new Uint8Array(16), "ocmu_a_00000000000000000000001Q4r9Q"],
  ["team-42", new Uint8Array(16).fill(255), "ocmu_team-42_7n42DGM5Tflk9n8mt7Fhc74fWYUl"],
  ["admin", Uint8Array.from({ length: 16 }, (_, i) => 100 + i), "ocmu_admin_33RZVD0IvAoVVtaECqP8WR3Pwl0p"],
];
const PUBLISHED = new RegExp(`^${TOKEN_REGEX_SOURCE}$`);
const tenantIdArb = fc.stringMatching(TENANT_ID_PATTERN).filter((s) => s.length <= 32);

describe("token format", () => {
  test.each(GOLDEN)("golden %s", (id, secret, token) => {
    expect(buildToken(id, secret)).toBe(token);
    expect(parseToken(token)).toEqual({ ok: true, id });
    expect(token).toMatch(PUBLISHED);
  });

  test("README example tokens fail their checksum (so docs never trip scanners)", () => {
    expect(parseToken("ocmu_acme_000SYW7RiJxkEgOGusQGwp1HRH4K")).toEqual({ ok: false, reason: "checksum" });
    expect(parseToken("ocmu_acme_EXAMPLEEXAMPLEEXAMPLEEXAMPLE")).toEqual({ ok: false, reason: "checksum" });
  });

  test("generate → parse round-trips, matches the published regex, secret is 22 chars", () => {
    fc.assert(
      fc.property(tenantIdArb, fc.uint8Array({ minLength: 16, maxLength: 16 }), (id, secret) => {
        const token = buildToken(id, secret);
        const parsed = parseToken(token);
        const secretPart = token.slice(`ocmu_${id}_`.length, -6);
        return parsed.ok && parsed.id === id && PUBLISHED.test(token) && secretPart.length === 22;
      }),
    );
  });

  test("changing any single character breaks the token", () => {
    fc.assert(
      fc.property(tenantIdArb, fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(), fc.constantFrom(..."0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"), (id, secret, pos, ch) => {
        const token = buildToken(id, secret);
        const i = pos % token.length;
        if (token[i] === ch) return true;
        const changed = token.slice(0, i) + ch + token.slice(i + 1);
        const parsed = parseToken(changed);
        // Either the checksum catches it, or it no longer parses at all; it never verifies as the same id.
        return !parsed.ok || parsed.id !== id;
      }),
      { numRuns: 2000 },
    );
  });

  test("malformed inputs are rejected before any lookup", () => {
    for (const bad of ["", "Bearer", "ocmu_", "ocmu__AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "tk_acme_00", "ocmu_ACME_000SYW7RiJxkEgOGusQGwp1HRH4J", `ocmu_${"a".repeat(300)}`, "ocmu_acme_000SYW7RiJxkEgOGusQGwp1HRH4J\n", "ocmu_acme-_000SYW7RiJxkEgOGusQGwp1HRH4J"]) {
      expect(parseToken(bad).ok).toBe(false);
    }
  });

  test("minted tokens are random, hashed with SHA-256, and displayed by prefix only", () => {
    const a = mintToken("acme");
    const b = mintToken("acme");
    expect(a.token).not.toBe(b.token);
    expect(a.hash).toEqual(sha256(a.token));
    expect(a.hash.length).toBe(32);
    expect(a.displayPrefix).toBe(`${a.token.slice(0, "ocmu_acme_".length + 4)}…`);
    expect(displayPrefix(a.token)).not.toContain(a.token.slice(-24));
  });

  test("digest comparison is over 32-byte digests and finds only an exact match", () => {
    const t = mintToken("acme");
    const other = mintToken("acme");
    expect(digestMatches(sha256(t.token), [other.hash, t.hash])).toBe(1);
    expect(digestMatches(sha256(t.token), [other.hash])).toBe(-1);
    expect(digestMatches(sha256(t.token), [])).toBe(-1);
    expect(digestMatches(sha256(t.token), [t.hash.subarray(0, 16)])).toBe(-1);
  });
});
