import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { allocatorEnv, GATEWAY_ALLOCATOR_ENV } from "../../src/lib/allocator.ts";
import { bytesToBigInt, encodeBase62 } from "../../src/lib/base62.ts";
import { canonicalJson } from "../../src/lib/canonical-json.ts";
import { formatDuration, parseDuration } from "../../src/lib/duration.ts";
import { checkTenantId, clientRequestId } from "../../src/lib/ids.ts";
import { nextUtcMidnight } from "../../src/lib/time.ts";
import { createLogger } from "../../src/core/logger.ts";

describe("allocatorEnv", () => {
  test("adds only the settings that are missing, and says when nothing is", () => {
    expect(allocatorEnv({ PATH: "/bin" })).toEqual({ PATH: "/bin", ...GATEWAY_ALLOCATOR_ENV });
    expect(allocatorEnv({ MIMALLOC_PURGE_HOLES: "1" })).toEqual({ MIMALLOC_PURGE_HOLES: "1", MIMALLOC_PURGE_DELAY: "1000" });
    expect(allocatorEnv({ MIMALLOC_PURGE_HOLES: "1", MIMALLOC_PURGE_DELAY: "5" })).toBeNull();
  });
});

describe("base62", () => {
  test("fixed width, big-endian, alphabet 0-9A-Za-z", () => {
    expect(encodeBase62(0, 6)).toBe("000000");
    expect(encodeBase62(61, 2)).toBe("0z");
    expect(encodeBase62(62, 2)).toBe("10");
    expect(encodeBase62(0xffffffff, 6)).toBe("4gfFC3");
    expect(encodeBase62(bytesToBigInt(new Uint8Array(16).fill(255)), 22)).toBe("7n42DGM5Tflk9n8mt7Fhc7");
  });
  test("refuses values that do not fit", () => {
    expect(() => encodeBase62(62 ** 2, 2)).toThrow();
    expect(() => encodeBase62(-1, 2)).toThrow();
  });
  test("a 128-bit value always fits 22 characters", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => encodeBase62(bytesToBigInt(b), 22).length === 22));
  });
});

describe("canonicalJson", () => {
  test("sorts keys at every depth and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null }, u: undefined })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
  });
  test("same value, same bytes, whatever the insertion order", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.string(), fc.boolean())), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        return canonicalJson(obj) === canonicalJson(reversed) && canonicalJson(JSON.parse(canonicalJson(obj))) === canonicalJson(obj);
      }),
    );
  });
  test("refuses non-finite numbers", () => expect(() => canonicalJson({ a: Number.NaN })).toThrow());
});

describe("durations", () => {
  test.each([
    ["0", 0],
    ["30", 30_000],
    ["90s", 90_000],
    ["15m", 900_000],
    ["1h30m", 5_400_000],
    ["7d", 604_800_000],
    ["250ms", 250],
  ])("%s", (s, ms) => expect(parseDuration(s)).toBe(ms));
  test.each(["", "1x", "h", "1h-", "-1h", "1.5h", "1h 2m"])("rejects %p", (s) => expect(parseDuration(s)).toBeNull());
  test("format round-trips", () => expect(parseDuration(formatDuration(93_784_000))).toBe(93_784_000));
});

describe("tenant ids", () => {
  test.each(["a", "acme", "team-42", "a1", "x".repeat(32), "0"])("accepts %p", (id) => expect(checkTenantId(id)).toBeNull());
  test.each([
    ["", "empty"],
    ["x".repeat(33), "too_long"],
    ["Acme", "invalid"],
    ["-acme", "invalid"],
    ["acme-", "invalid"],
    ["ac_me", "invalid"],
    ["ac me", "invalid"],
    ["acme\n", "invalid"],
    ["../x", "invalid"],
    ["admin", "reserved"],
    ["system", "reserved"],
    ["root", "reserved"],
    ["default", "reserved"],
    ["all", "reserved"],
  ])("rejects %p as %s", (id, problem) => expect(checkTenantId(id)).toBe(problem as never));
});

describe("misc", () => {
  test("client request ids: plain ones are kept (beside ours), anything else dropped", () => {
    expect(clientRequestId("abc-123")).toBe("abc-123");
    expect(clientRequestId("bad id\n")).toBeUndefined();
    expect(clientRequestId("x".repeat(65))).toBeUndefined();
    expect(clientRequestId(null)).toBeUndefined();
  });
  test("next UTC midnight", () => {
    expect(new Date(nextUtcMidnight(Date.parse("2026-11-29T23:59:59.999Z"))).toISOString()).toBe("2026-11-30T00:00:00.000Z");
    expect(new Date(nextUtcMidnight(Date.parse("2026-11-30T00:00:00.000Z"))).toISOString()).toBe("2026-12-01T00:00:00.000Z");
  });
});

describe("logger", () => {
  test("JSON mode writes every line, identical repeats included (consola would fold them)", () => {
    const lines: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const log = createLogger({ json: true }).withTag("access");
      for (let i = 0; i < 12; i++) log.info("request", { status: 200 });
    } finally {
      process.stderr.write = write;
    }
    expect(lines).toHaveLength(12);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ level: "info", tag: "access", msg: "request", status: 200 });
  });
});
