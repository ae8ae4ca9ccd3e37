// Stream stages of the archive: counting and hashing what flows (Tap), a cap on what a
// decompression may produce (Cap), and the feeder that hands the tar stream to zstd in large chunks.
import { Readable, Transform, Writable, type TransformCallback } from "node:stream";
import { AppError } from "../../core/errors.ts";

export const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Counts and hashes the bytes flowing through; reports progress. */
export class Tap extends Transform {
  private readonly hash = new Bun.CryptoHasher("sha256");
  bytes = 0;
  constructor(private readonly onBytes?: (n: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback) {
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    this.hash.update(chunk);
    cb(null, chunk);
  }
  digest(): string {
    return this.hash.digest("hex");
  }
}

/** Fails the stream once more than `max` bytes have passed (a decompression bomb). */
export class Cap extends Transform {
  private seen = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback) {
    this.seen += chunk.length;
    if (this.seen > this.max) return cb(new AppError("PAYLOAD_TOO_LARGE", `the archive expands to more than ${this.max} bytes (a decompression bomb, or over backup.maxRestoreBytes)`));
    cb(null, chunk);
  }
}

/**
 * The end of the tar stream: feeds it to zstd. Small pieces (a 512-byte header, a small file's body,
 * its padding) are gathered into chunks of up to 1 MiB first — zstd compresses each write as one job
 * on Bun's thread pool, and thousands of small files would otherwise cost a thread hand-off each.
 * Large chunks (a big file's reads) go to zstd as they are. `consumed` is told when a chunk is no
 * longer needed — once zstd is done with it, or once it is copied — so its memory can be reused.
 */
export class ZstdFeeder extends Writable {
  private buf: Buffer | null = null;
  private len = 0;
  constructor(
    private readonly zstd: Transform,
    private readonly consumed: (chunk: Buffer) => void,
    private readonly size = 1 << 20,
  ) {
    super({ highWaterMark: size });
  }
  override _write(chunk: Buffer, _e: BufferEncoding, cb: (err?: Error | null) => void) {
    if (chunk.length >= this.size >> 4) {
      const pending = this.takePending();
      if (pending) this.zstd.write(pending);
      return this.send(chunk, cb, () => this.consumed(chunk));
    }
    const full = this.buf && this.len + chunk.length > this.size ? this.takePending() : null;
    this.buf ??= Buffer.allocUnsafe(this.size);
    chunk.copy(this.buf, this.len);
    this.len += chunk.length;
    // Copied: the chunk itself is done with (a large file's short last read is one of these).
    this.consumed(chunk);
    if (full) this.send(full, cb);
    else cb();
  }
  override _final(cb: (err?: Error | null) => void) {
    const pending = this.takePending();
    if (pending) this.zstd.write(pending);
    this.zstd.end();
    cb();
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void) {
    if (err) this.zstd.destroy(err);
    cb(err);
  }
  private takePending(): Buffer | null {
    if (!this.buf || this.len === 0) return null;
    const out = this.buf.subarray(0, this.len);
    this.buf = null;
    this.len = 0;
    return out;
  }
  /** Writes to zstd; calls `cb` once zstd can take more (or has failed). */
  private send(chunk: Buffer, cb: (err?: Error | null) => void, done?: () => void) {
    const zstd = this.zstd;
    if (zstd.destroyed) return cb((zstd as { errored?: Error | null }).errored ?? new Error("the compressor stopped"));
    const ok = zstd.write(chunk, (err) => {
      if (!err) done?.();
    });
    if (ok) return cb();
    const settle = (err?: Error) => {
      zstd.off("drain", onDrain);
      zstd.off("close", onClose);
      cb(err);
    };
    const onDrain = () => settle();
    // Stopped by the stage after it (a store that failed, say): that failure is the one to report.
    const onClose = () => settle((zstd as { errored?: Error | null }).errored ?? new Error("the compressor stopped"));
    zstd.on("drain", onDrain);
    zstd.on("close", onClose);
  }
}


/** Reads at least `n` bytes from the start of a stream and gives back a stream of everything. */
export async function readStart(source: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let len = 0;
  const iterator = source[Symbol.asyncIterator]();
  while (len < n) {
    const r = await iterator.next();
    if (r.done) break;
    const c = Buffer.from(r.value as Uint8Array);
    chunks.push(c);
    len += c.length;
  }
  const head = Buffer.concat(chunks);
  const stream = Readable.from(
    (async function* () {
      if (head.length) yield head;
      while (true) {
        const r = await iterator.next();
        if (r.done) return;
        yield r.value as Buffer;
      }
    })(),
  );
  return { head, stream };
}

