// Writes a backup archive to its file on a worker thread and hashes it on the way, so the main thread
// only reads, packs and compresses. {op:"open", path} → {op:"opened"} | {op:"error"};
// {op:"write", seq, buf, offset, length} → {op:"ack", seq}; {op:"end"} → {op:"ended", sha256, bytes}.
import fs from "node:fs";
import { startWriteback } from "../../lib/writeback.ts";

declare const self: Worker;

let fd: number | null = null;
const hash = new Bun.CryptoHasher("sha256");
let bytes = 0;
let synced = 0;
/** Writeback is started every so often while the backup runs, so the final fsync has little left to do. */
const SYNC_EVERY = 16 * 1024 * 1024;

self.onmessage = (e: MessageEvent) => {
  const m = e.data as { op: "open"; path: string } | { op: "write"; seq: number; buf: ArrayBuffer; offset: number; length: number } | { op: "end" };
  try {
    if (m.op === "open") {
      fd = fs.openSync(m.path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
      self.postMessage({ op: "opened" });
    } else if (m.op === "write") {
      const chunk = new Uint8Array(m.buf, m.offset, m.length);
      hash.update(chunk);
      let off = 0;
      while (off < chunk.length) off += fs.writeSync(fd!, chunk, off, chunk.length - off);
      bytes += chunk.length;
      self.postMessage({ op: "ack", seq: m.seq });
      if (bytes - synced >= SYNC_EVERY) {
        startWriteback(fd!, synced, bytes - synced);
        synced = bytes;
      }
    } else {
      fs.fsyncSync(fd!);
      fs.closeSync(fd!);
      fd = null;
      self.postMessage({ op: "ended", sha256: hash.digest("hex"), bytes });
    }
  } catch (err) {
    self.postMessage({ op: "error", message: err instanceof Error ? err.message : String(err) });
  }
};
