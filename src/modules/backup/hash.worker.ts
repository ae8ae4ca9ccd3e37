// SHA-256 of files for the backup manifest, computed on a worker thread while the main thread reads,
// packs and compresses the same files. The worker reads each file itself through the main thread's
// descriptor (from the page cache, just read by the main thread) and also returns a seeded fingerprint of the bytes it hashed; the main
// thread compares it with the fingerprint of the bytes it archived, so a file that changed between
// the two reads is caught instead of getting a digest of different bytes.
//   {op:"file", seq, path, size, seed} → {seq, hex, fingerprint} | {seq, error}
import fs from "node:fs";
import { fingerprintChunk, FINGERPRINT_CHUNK } from "./fingerprint.ts";

declare const self: Worker;

self.onmessage = (e: MessageEvent) => {
  const m = e.data as { op: "file"; seq: number; path: string; size: number; seed: string };
  let fd: number | null = null;
  try {
    // m.path is /proc/self/fd/N: the descriptor the main thread opened (confined to the tenant),
    // reopened here through its magic link, so it cannot be followed anywhere else.
    fd = fs.openSync(m.path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const hash = new Bun.CryptoHasher("sha256");
    const buf = Buffer.allocUnsafe(FINGERPRINT_CHUNK);
    let fp = 0n;
    let read = 0;
    let index = 0;
    while (read < m.size) {
      const want = Math.min(FINGERPRINT_CHUNK, m.size - read);
      let got = 0;
      while (got < want) {
        const n = fs.readSync(fd, buf, got, want - got, read + got);
        if (n === 0) break;
        got += n;
      }
      if (got < want) throw new Error("the file is shorter than when it was listed");
      const chunk = buf.subarray(0, got);
      hash.update(chunk);
      fp = fingerprintChunk(fp, chunk, BigInt(m.seed), index++);
      read += got;
    }
    self.postMessage({ seq: m.seq, hex: hash.digest("hex"), fingerprint: fp.toString() });
  } catch (err) {
    self.postMessage({ seq: m.seq, error: err instanceof Error ? err.message : String(err) });
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
};
