// Fixed-width, big-endian base62 over the alphabet 0-9A-Za-z (the contract's definition).
export const BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** Encodes a non-negative integer as exactly `width` base62 characters; throws if it does not fit. */
export function encodeBase62(value: bigint | number, width: number): string {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) {
    // Fast path for small values (checksums), without BigInt.
    const out: string[] = new Array(width).fill("0");
    let v = value;
    for (let i = width - 1; i >= 0 && v > 0; i--) {
      out[i] = BASE62_ALPHABET[v % 62]!;
      v = Math.floor(v / 62);
    }
    if (v > 0) throw new RangeError(`base62: value does not fit in ${width} characters`);
    return out.join("");
  }
  let n = BigInt(value);
  if (n < 0n) throw new RangeError("base62: negative value");
  const out: string[] = new Array(width).fill("0");
  for (let i = width - 1; i >= 0 && n > 0n; i--) {
    out[i] = BASE62_ALPHABET[Number(n % 62n)]!;
    n /= 62n;
  }
  if (n > 0n) throw new RangeError(`base62: value does not fit in ${width} characters`);
  return out.join("");
}

/** `length` base62 characters from the OS CSPRNG (ids, not secrets). */
export function randomBase62(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const b of bytes) out += BASE62_ALPHABET[b % 62];
  return out;
}
