// Comparing a presented secret or signature with the expected one without leaking, through timing,
// how much of it matched or how long the expected one is: both sides are hashed to 32 bytes first
// (timingSafeEqual needs equal lengths, and a length check of its own would be an oracle).
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

const digest = (s: string | Uint8Array) => createHash("sha256").update(s).digest();

/** True when `presented` equals `expected`, in time independent of where they differ. */
export function equalSecret(presented: string | Uint8Array, expected: string | Uint8Array): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** Lower-case hex HMAC-SHA256 of `data` under `key`. */
export function hmacSha256Hex(key: string, data: string | Uint8Array): string {
  return createHmac("sha256", key).update(data).digest("hex");
}
