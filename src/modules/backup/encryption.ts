// Backup encryption at rest: AES-256-GCM over 1 MiB frames (a "STREAM"-style construction), so an
// archive of any size is encrypted and authenticated without holding it in memory.
//
//   header  = "OCMUBAK1" | version (1) | frame size (u32 BE) | salt (16) | nonce prefix (8)   (37 bytes)
//   frame   = ciphertext length (u32 BE) | ciphertext | GCM tag (16)
//   key     = HKDF-SHA256(backup.encryptionKey, salt, "openclawmu backup v1")
//   nonce   = nonce prefix | frame counter (u32 BE)
//   AAD     = header | frame counter (u32 BE) | last-frame flag (1 byte)
//
// The counter in the nonce and AAD refuses reordered or repeated frames; the last-frame flag refuses
// truncation (an archive cut at a frame boundary fails on its now-unflagged final frame); the header
// in the AAD refuses any edit to it. Any tampering fails authentication and nothing is returned.
import crypto from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { AppError } from "../../core/errors.ts";

export const ENCRYPTED_MAGIC = Buffer.from("OCMUBAK1");
const VERSION = 1;
const FRAME = 1024 * 1024;
const HEADER_LEN = 8 + 1 + 4 + 16 + 8;
const TAG = 16;
const INFO = Buffer.from("openclawmu backup v1");

function deriveKey(secret: string, salt: Buffer): Buffer {
  return Buffer.from(crypto.hkdfSync("sha256", Buffer.from(secret, "utf8"), salt, INFO, 32));
}

function aad(header: Buffer, counter: number, last: boolean): Buffer {
  const b = Buffer.alloc(header.length + 5);
  header.copy(b);
  b.writeUInt32BE(counter, header.length);
  b[header.length + 4] = last ? 1 : 0;
  return b;
}

function nonce(prefix: Buffer, counter: number): Buffer {
  const n = Buffer.alloc(12);
  prefix.copy(n, 0);
  n.writeUInt32BE(counter, 8);
  return n;
}

export function checkEncryptionKey(secret: string): void {
  if (secret.length < 16) throw new AppError("CONFIG_INVALID", "backup.encryptionKey must be at least 16 characters (use 32+ random characters, e.g. `openssl rand -base64 32`)");
}

export class EncryptStream extends Transform {
  private readonly header: Buffer;
  private readonly key: Buffer;
  private readonly prefix: Buffer;
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private counter = 0;
  private held: Buffer | null = null;

  constructor(secret: string) {
    super();
    checkEncryptionKey(secret);
    const salt = crypto.randomBytes(16);
    this.prefix = crypto.randomBytes(8);
    this.header = Buffer.alloc(HEADER_LEN);
    ENCRYPTED_MAGIC.copy(this.header, 0);
    this.header[8] = VERSION;
    this.header.writeUInt32BE(FRAME, 9);
    salt.copy(this.header, 13);
    this.prefix.copy(this.header, 29);
    this.key = deriveKey(secret, salt);
    // A copy: what is pushed may be handed to another thread (the file writer moves whole buffers).
    this.push(Buffer.from(this.header));
  }

  private seal(plain: Buffer, last: boolean): Buffer {
    if (this.counter === 0xffffffff) throw new Error("backup too large to encrypt (frame counter exhausted)");
    const c = crypto.createCipheriv("aes-256-gcm", this.key, nonce(this.prefix, this.counter));
    c.setAAD(aad(this.header, this.counter, last));
    const body = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
    this.counter++;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(plain.length);
    return Buffer.concat([len, body]);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.pending.push(chunk);
      this.pendingLen += chunk.length;
      while (this.pendingLen >= FRAME) {
        const all = Buffer.concat(this.pending);
        // A full frame is held back one step: only at the end do we know which frame is the last.
        if (this.held) this.push(this.seal(this.held, false));
        this.held = all.subarray(0, FRAME);
        const rest = all.subarray(FRAME);
        this.pending = rest.length ? [rest] : [];
        this.pendingLen = rest.length;
      }
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      const tail = Buffer.concat(this.pending);
      if (this.held && tail.length === 0) this.push(this.seal(this.held, true));
      else {
        if (this.held) this.push(this.seal(this.held, false));
        this.push(this.seal(tail, true));
      }
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }
}

export class DecryptStream extends Transform {
  private buf: Buffer = Buffer.alloc(0);
  private header: Buffer | null = null;
  private key: Buffer | null = null;
  private prefix: Buffer | null = null;
  private frameSize = FRAME;
  private counter = 0;
  /** A complete frame waiting to learn whether it is the last one. */
  private held: Buffer | null = null;
  private sawLast = false;

  constructor(private readonly secret: string | undefined) {
    super();
  }

  private fail(message: string): AppError {
    return new AppError("INVALID_PARAMS", `the archive is encrypted and ${message}; nothing was restored`);
  }

  private open(frame: Buffer, last: boolean): Buffer {
    const len = frame.readUInt32BE(0);
    const ct = frame.subarray(4, 4 + len);
    const tag = frame.subarray(4 + len);
    const d = crypto.createDecipheriv("aes-256-gcm", this.key!, nonce(this.prefix!, this.counter));
    d.setAAD(aad(this.header!, this.counter, last));
    d.setAuthTag(tag);
    try {
      const plain = Buffer.concat([d.update(ct), d.final()]);
      this.counter++;
      return plain;
    } catch {
      throw this.fail(`fails authentication (wrong key, or tampered with)`);
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      if (!this.header) {
        if (this.buf.length < HEADER_LEN) return cb();
        const h = this.buf.subarray(0, HEADER_LEN);
        if (!h.subarray(0, 8).equals(ENCRYPTED_MAGIC)) throw this.fail("does not start with the encryption header");
        if (h[8] !== VERSION) throw this.fail(`uses encryption format ${h[8]}, which this gateway does not know`);
        if (!this.secret) throw new AppError("CONFIG_INVALID", "the archive is encrypted; set backup.encryptionKey in the gateway config to restore it");
        this.frameSize = h.readUInt32BE(9);
        if (this.frameSize < 1024 || this.frameSize > 64 * 1024 * 1024) throw this.fail("has a bad frame size");
        this.header = Buffer.from(h);
        this.key = deriveKey(this.secret, h.subarray(13, 29));
        this.prefix = Buffer.from(h.subarray(29, 37));
        this.buf = this.buf.subarray(HEADER_LEN);
      }
      while (this.buf.length >= 4) {
        const len = this.buf.readUInt32BE(0);
        if (len > this.frameSize) throw this.fail("has a frame larger than its frame size (tampered with)");
        const total = 4 + len + TAG;
        if (this.buf.length < total) break;
        const frame = Buffer.from(this.buf.subarray(0, total));
        this.buf = this.buf.subarray(total);
        if (this.held) this.push(this.open(this.held, false));
        this.held = frame;
      }
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      if (!this.header) throw this.fail("is truncated before its header ends");
      if (this.buf.length > 0 || !this.held) throw this.fail("is truncated (an incomplete frame at the end)");
      this.push(this.open(this.held, true));
      this.sawLast = true;
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  get complete(): boolean {
    return this.sawLast;
  }
}
