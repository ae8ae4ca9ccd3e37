// A fast, seeded, chunked fingerprint (wyhash per 1 MiB chunk, folded in order) that the backup's
// main thread and its hashing worker both compute over a file, to prove they saw the same bytes.
// Not a security digest: the seed is random per backup and a mismatch only ever fails the backup.
export const FINGERPRINT_CHUNK = 1 << 20;
const MASK = (1n << 64n) - 1n;
const MUL = 0x9e3779b97f4a7c15n;

export function fingerprintChunk(acc: bigint, chunk: Uint8Array, seed: bigint, index: number): bigint {
  const h = BigInt(Bun.hash.wyhash(chunk, (seed + BigInt(index)) & MASK));
  return ((acc ^ h) * MUL + BigInt(index + 1)) & MASK;
}
