// SHA-256 of files for the backup manifest, computed on a worker thread beside the main thread's
// reading, packing and compressing. The main thread reads each chunk once into shared memory and
// hands the worker the very bytes it archives (no copy, no second read), so a file's digest is the
// digest of what went into the archive. The worker never writes to a chunk; it says when it is done
// with one so the main thread can reuse its memory.
//   {op:"chunk", seq, slot, sab, length} → {op:"ack", slot}
//   {op:"end", seq}                      → {op:"done", seq, hex}
declare const self: Worker;

const files = new Map<number, Bun.CryptoHasher>();

self.onmessage = (e: MessageEvent) => {
  const m = e.data as { op: "chunk"; seq: number; slot: number; sab: SharedArrayBuffer; length: number } | { op: "end"; seq: number };
  let hash = files.get(m.seq);
  if (!hash) files.set(m.seq, (hash = new Bun.CryptoHasher("sha256")));
  if (m.op === "chunk") {
    hash.update(new Uint8Array(m.sab, 0, m.length));
    self.postMessage({ op: "ack", slot: m.slot });
    return;
  }
  files.delete(m.seq);
  self.postMessage({ op: "done", seq: m.seq, hex: hash.digest("hex") });
};
