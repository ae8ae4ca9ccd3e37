// Writes a restore's files on a worker thread and hashes them on the way (SHA-256, checked against
// the manifest afterwards), so the main thread only decompresses and parses the archive.
//   {op:"chunk", fd, buf}   append buf (transferred) to the file open as fd (threads share descriptors)
//   {op:"end", seq, fd}     → {op:"done", seq, sha256, bytes}
//   any failure             → {op:"error", seq?, message}; every later message for that fd is dropped
// Every chunk is acknowledged ({op:"ack", bytes}) so the main thread can bound what is in flight.
import fs from "node:fs";
import { startWriteback } from "../../lib/writeback.ts";

declare const self: Worker;

const files = new Map<number, { hash: Bun.CryptoHasher; bytes: number; failed: boolean; flushed: number }>();
/** Writeback is started every so often, so the syncfs before the restore commits has little left. */
const WRITEBACK_EVERY = 16 * 1024 * 1024;

self.onmessage = (e: MessageEvent) => {
  const m = e.data as { op: "chunk"; fd: number; buf: ArrayBuffer } | { op: "end"; seq: number; fd: number };
  let f = files.get(m.fd);
  if (!f) files.set(m.fd, (f = { hash: new Bun.CryptoHasher("sha256"), bytes: 0, failed: false, flushed: 0 }));
  if (m.op === "chunk") {
    const chunk = new Uint8Array(m.buf);
    if (!f.failed) {
      try {
        f.hash.update(chunk);
        let off = 0;
        while (off < chunk.length) off += fs.writeSync(m.fd, chunk, off, chunk.length - off);
        f.bytes += chunk.length;
        if (f.bytes - f.flushed >= WRITEBACK_EVERY) {
          startWriteback(m.fd, f.flushed, f.bytes - f.flushed);
          f.flushed = f.bytes;
        }
      } catch (err) {
        f.failed = true;
        self.postMessage({ op: "error", fd: m.fd, message: err instanceof Error ? err.message : String(err) });
      }
    }
    self.postMessage({ op: "ack", bytes: chunk.length });
    return;
  }
  files.delete(m.fd);
  if (f.failed) self.postMessage({ op: "done", seq: m.seq, failed: true });
  else self.postMessage({ op: "done", seq: m.seq, sha256: f.hash.digest("hex"), bytes: f.bytes });
};
