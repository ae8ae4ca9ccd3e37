// Channel credentials at rest: AES-256-GCM under a per-row HKDF key, bound to (tenant, channel, kind).
import { describe, expect, test } from "bun:test";
import { maskSecret, openSecrets, requireKey, sameSecret, sealSecrets } from "../../../src/modules/channels/secrets.ts";

const KEY = "k".repeat(32);
const owner = { tenantId: "alpha", channelId: "ch_1", kind: "telegram" };

describe("channel secrets", () => {
  test("sealed secrets open with the same key and owner, and carry nothing in clear", () => {
    const sealed = sealSecrets(KEY, owner, { botToken: "123:very-secret-token-value" });
    expect(sealed).not.toContain("very-secret");
    expect(Buffer.from(sealed, "base64url").toString("latin1")).not.toContain("very-secret");
    expect(openSecrets(KEY, owner, sealed)).toEqual({ botToken: "123:very-secret-token-value" });
    // Fresh salt and IV each time: the same secrets never seal the same way twice.
    expect(sealSecrets(KEY, owner, { botToken: "123:very-secret-token-value" })).not.toBe(sealed);
  });

  test("another key, another tenant, channel or kind, or one flipped bit: nothing opens", () => {
    const sealed = sealSecrets(KEY, owner, { secret: "s".repeat(40) });
    expect(openSecrets("x".repeat(32), owner, sealed)).toBeNull();
    expect(openSecrets(undefined, owner, sealed)).toBeNull();
    expect(openSecrets(KEY, { ...owner, tenantId: "beta" }, sealed)).toBeNull();
    expect(openSecrets(KEY, { ...owner, channelId: "ch_2" }, sealed)).toBeNull();
    expect(openSecrets(KEY, { ...owner, kind: "webhook" }, sealed)).toBeNull();
    const b = Buffer.from(sealed, "base64url");
    b[b.length - 1]! ^= 1;
    expect(openSecrets(KEY, owner, b.toString("base64url"))).toBeNull();
    expect(openSecrets(KEY, owner, "garbage")).toBeNull();
  });

  test("no key, or a short one: pairing is refused naming the setting", () => {
    expect(() => requireKey(undefined)).toThrow("set gateway.channels.secretKey to pair channels");
    expect(() => requireKey("short")).toThrow("at least 16 characters");
    expect(requireKey(KEY)).toBe(KEY);
  });

  test("masks show the last four characters of long secrets only; compares are exact", () => {
    expect(maskSecret("123456:abcdefghijklmnopqrstuvwxyz")).toBe("…wxyz");
    expect(maskSecret("short")).toBe("…");
    expect(sameSecret("abc", "abc")).toBe(true);
    expect(sameSecret("abc", "abd")).toBe(false);
    expect(sameSecret("abc", "abcd")).toBe(false);
    expect(sameSecret("", "x")).toBe(false);
  });
});
