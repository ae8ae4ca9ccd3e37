// The backup archive: a tar stream (tar-stream) through zstd (node:zlib), optionally encrypted, written
// and read as streams so memory stays bounded whatever the tenant's size.
//
//   openclaw-backup.json     first: format, version, tenant id, time, gateway version
//   state/<table>.jsonl      the tenant's rows from state.db, one JSON object per line
//   tenant/…                 the tenant's directory: directories and regular files only
//   manifest.json            last: every entry above with its size and SHA-256
//
// Extraction trusts nothing in the archive: every entry is checked (type, path, duplicates after
// normalisation, size and count caps, total decompressed bytes) before a byte is written, and is
// written only inside a fresh private directory with O_EXCL|O_NOFOLLOW. The caller verifies the
// manifest and then moves the result into place.
import fs from "node:fs";
import path from "node:path";
import { Readable, Transform, Writable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import tar from "tar-stream";
import { AppError } from "../../core/errors.ts";
import { checkRelativePath, PathError } from "../paths/path-resolver.ts";
import { DecryptStream, ENCRYPTED_MAGIC, EncryptStream } from "./encryption.ts";
import { CHUNK, ChunkReader } from "./chunk-reader.ts";
import { ExtractWriter } from "./extract-writer.ts";
import { openBeneath, openat2Available, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS } from "../../lib/openat2.ts";

export const FORMAT = "openclawmu-backup";
export const FORMAT_VERSION = 1;
export const HEADER_ENTRY = "openclaw-backup.json";
export const MANIFEST_ENTRY = "manifest.json";
export const STATE_TABLES = ["tenants", "tenant_quotas", "tenant_tokens", "usage_ledger", "sandbox_runs"] as const;
export type StateTable = (typeof STATE_TABLES)[number];

export interface ArchiveHeader {
  format: typeof FORMAT;
  version: number;
  tenantId: string;
  createdAt: string;
  gatewayVersion: string;
  schemaVersion: number;
}

export interface ManifestEntry {
  path: string;
  type: "file" | "dir";
  size: number;
  sha256?: string;
}

export interface Manifest extends ArchiveHeader {
  entries: ManifestEntry[];
  skipped: { path: string; kind: string }[];
}

export interface RestoreLimits {
  maxBytes: number;
  maxEntries: number;
  /** Called before each entry of the tenant's directory is written; throws to refuse the archive. */
  tenant?: (e: { size: number; dir: boolean }) => void;
}

const noop = () => {};
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Counts and hashes the bytes flowing through; reports progress. */
class Tap extends Transform {
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
class Cap extends Transform {
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

// ---------------------------------------------------------------------------------------------
// Writing

export interface TreeEntry {
  rel: string;
  type: "file" | "dir";
  size: number;
  mode: number;
  mtimeMs: number;
}

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
/** Every step beneath the tenant directory, and no symbolic link on the way (a swap is refused). */
const CONFINED = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

/**
 * Directories and regular files under the directory `rootFd` (links never followed; anything else
 * is listed as skipped). Each directory is opened with openat2 beneath its parent and read through
 * its descriptor, so a sandbox of the tenant that swaps a directory for a symlink while the backup
 * runs cannot make the gateway list — or later read — anything outside the tenant.
 */
export function walkTenant(rootFd: number): { entries: TreeEntry[]; skipped: { path: string; kind: string }[] } {
  const entries: TreeEntry[] = [];
  const skipped: { path: string; kind: string }[] = [];
  const visit = (dirFd: number, rel: string) => {
    for (const name of fs.readdirSync(`/proc/self/fd/${dirFd}`).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(`/proc/self/fd/${dirFd}/${name}`, { throwIfNoEntry: false });
      if (!st) continue; // removed meanwhile
      if (st.isDirectory()) {
        let sub: number;
        try {
          sub = openBeneath(dirFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, CONFINED);
        } catch {
          skipped.push({ path: r, kind: "changed" }); // swapped for something else since the lstat
          continue;
        }
        try {
          entries.push({ rel: r, type: "dir", size: 0, mode: st.mode & 0o777, mtimeMs: st.mtimeMs });
          visit(sub, r);
        } finally {
          fs.closeSync(sub);
        }
      } else if (st.isFile()) entries.push({ rel: r, type: "file", size: st.size, mode: st.mode & 0o777, mtimeMs: st.mtimeMs });
      else skipped.push({ path: r, kind: st.isSymbolicLink() ? "symlink" : st.isFIFO() ? "fifo" : st.isSocket() ? "socket" : "device" });
    }
  };
  visit(rootFd, "");
  return { entries, skipped };
}

export interface WriteResult {
  sha256: string;
  sizeBytes: number;
  files: number;
  contentBytes: number;
  skipped: { path: string; kind: string }[];
}

export async function writeArchive(opts: {
  header: ArchiveHeader;
  tenantRoot: string;
  stateFiles: { table: StateTable; file: string }[];
  sink: Writable;
  /** Set when the sink hashes the archive itself; otherwise it is hashed here. */
  sinkDigest?: () => { sha256: string; bytes: number };
  encryptionKey?: string;
  onProgress?: (done: number, total: number) => void;
}): Promise<WriteResult> {
  if (!openat2Available()) throw new AppError("UNAVAILABLE", "backups need openat2 (Linux 5.6 or later) to read a tenant's files safely");
  const rootFd = fs.openSync(opts.tenantRoot, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  let walked: ReturnType<typeof walkTenant>;
  try {
    walked = walkTenant(rootFd);
  } catch (err) {
    fs.closeSync(rootFd);
    throw err;
  }
  const { entries, skipped } = walked;
  const total = entries.reduce((s, e) => s + e.size, 0) + opts.stateFiles.reduce((s, f) => s + fs.statSync(f.file).size, 0);
  let done = 0;
  const pack = tar.pack();
  // 1 MiB output chunks: the default 16 KiB makes zstd three times slower through the stream.
  const zstd = zlib.createZstdCompress({ chunkSize: 1 << 20, params: { [zlib.constants.ZSTD_c_compressionLevel]: 3 } });
  // Large files are read into shared chunks that the hashing worker digests while they are packed
  // and compressed here (see chunk-reader.ts); the archive's own digest is computed by the sink's
  // writer thread, or here (Tap).
  const reader = new ChunkReader();
  const out = new Tap();
  const tail: unknown[] = [zstd];
  if (opts.encryptionKey) tail.push(new EncryptStream(opts.encryptionKey));
  if (!opts.sinkDigest) tail.push(out);
  tail.push(opts.sink);
  const flows = [pipeline(pack, new ZstdFeeder(zstd, (chunk) => reader.consumed(chunk))), pipeline(tail as never)];
  // Fails as soon as either half does; settles once both have.
  const flowing = Promise.all(flows);
  const settled = Promise.allSettled(flows);
  // A failed stage never hands chunks back: a read waiting for one gives up with the failure.
  flowing.catch((err: Error) => reader.fail(err));
  const manifest: Manifest = { ...opts.header, entries: [], skipped };
  const mtime = new Date(Date.parse(opts.header.createdAt));
  const pendingDigests: Promise<void>[] = [];
  /** Keeps a digest to await before the manifest; one that fails after the backup gave up is not unhandled. */
  const track = (p: Promise<void>) => {
    p.catch(() => {});
    pendingDigests.push(p);
  };

  const addBuffer = (name: string, data: Buffer) =>
    new Promise<void>((resolve, reject) => pack.entry({ name, size: data.length, mode: 0o600, mtime }, data, (err) => (err ? reject(err) : resolve())));

  /** True if the file open as `fd` was written to (or resized) since `before` was taken. */
  const modified = (fd: number, before: fs.BigIntStats): boolean => {
    const now = fs.fstatSync(fd, { bigint: true });
    return now.size !== before.size || now.mtimeNs !== before.mtimeNs || now.ctimeNs !== before.ctimeNs;
  };
  const changed = (name: string, read: number, size: number) => new AppError("CONFLICT", `${name} changed while it was being backed up (${read} of ${size} bytes read); run the backup again`);

  /**
   * Reads a file in chunks of up to 8 MiB into its tar entry. A large file is read into the reader's shared
   * chunks, whose hashing worker digests the very bytes archived; small files are hashed here.
   */
  const addFile = async (name: string, fd: number, size: number, mode: number, mtimeMs: number): Promise<{ digest: Promise<string> }> => {
    let read = 0;
    try {
      if (size <= 256 * 1024) {
        const buf = Buffer.allocUnsafe(size);
        while (read < size) {
          const n = fs.readSync(fd, buf, read, size - read, read);
          if (n === 0) throw changed(name, read, size);
          read += n;
        }
        const hex = new Bun.CryptoHasher("sha256").update(buf).digest("hex");
        await new Promise<void>((resolve, reject) => pack.entry({ name, size, mode, mtime: new Date(mtimeMs) }, buf, (err) => (err ? reject(err) : resolve())));
        done += size;
        opts.onProgress?.(done, total);
        return { digest: Promise.resolve(hex) };
      }
      let entryError: Error | null = null;
      let entry!: ReturnType<typeof pack.entry>;
      const finished = new Promise<void>((resolve, reject) => {
        entry = pack.entry({ name, size, mode, mtime: new Date(mtimeMs) }, (err) => (err ? reject(err) : resolve()));
      });
      finished.catch((err) => (entryError = err as Error));
      entry.on("error", noop); // reported through `finished`
      const seq = reader.begin();
      const before = fs.fstatSync(fd, { bigint: true });
      while (read < size) {
        const want = Math.min(CHUNK, size - read);
        const buf = await reader.read(seq, want, (into) => {
          let got = 0;
          while (got < want) {
            const n = fs.readSync(fd, into, got, want - got, read + got);
            if (n === 0) throw changed(name, read + got, size);
            got += n;
          }
          return got;
        });
        read += buf.length;
        if (!entry.write(buf)) await Promise.race([new Promise<void>((resolve) => entry.once("drain", () => resolve())), flowing]);
        if (entryError) throw entryError;
        done += buf.length;
        opts.onProgress?.(done, total);
      }
      // Written to while it was read (its bytes archived torn): like tar, look again once read.
      if (modified(fd, before)) throw changed(name, size, size);
      (entry as unknown as { end(): void }).end();
      await finished;
      return { digest: reader.end(seq) };
    } finally {
      fs.closeSync(fd);
    }
  };

  /** A tenant file, opened beneath the tenant directory without following any link; still a regular file of the listed size. */
  const openTenantFile = (e: TreeEntry): number => {
    let fd: number;
    try {
      fd = openBeneath(rootFd, e.rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0, CONFINED);
    } catch {
      throw changed(`tenant/${e.rel}`, 0, e.size);
    }
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size !== e.size) {
      fs.closeSync(fd);
      throw changed(`tenant/${e.rel}`, 0, e.size);
    }
    return fd;
  };

  try {
    await addBuffer(HEADER_ENTRY, Buffer.from(`${JSON.stringify(opts.header)}\n`));
    for (const s of opts.stateFiles) {
      const size = fs.statSync(s.file).size;
      const name = `state/${s.table}.jsonl`;
      const { digest } = await addFile(name, fs.openSync(s.file, O_RDONLY | O_NOFOLLOW), size, 0o600, Date.parse(opts.header.createdAt));
      track(digest.then((hex) => void (entry.sha256 = hex)));
      const entry: ManifestEntry = { path: name, type: "file", size };
      manifest.entries.push(entry);
    }
    await new Promise<void>((resolve, reject) => pack.entry({ name: "tenant", type: "directory", mode: 0o700, mtime }, (err) => (err ? reject(err) : resolve())));
    for (const e of entries) {
      const name = `tenant/${e.rel}`;
      if (e.type === "dir") {
        await new Promise<void>((resolve, reject) => pack.entry({ name, type: "directory", mode: e.mode, mtime: new Date(e.mtimeMs) }, (err) => (err ? reject(err) : resolve())));
        manifest.entries.push({ path: name, type: "dir", size: 0 });
      } else {
        const entry: ManifestEntry = { path: name, type: "file", size: e.size };
        manifest.entries.push(entry);
        const { digest } = await addFile(name, openTenantFile(e), e.size, e.mode, e.mtimeMs);
        track(digest.then((hex) => void (entry.sha256 = hex)));
      }
    }
    await Promise.all(pendingDigests);
    await addBuffer(MANIFEST_ENTRY, Buffer.from(`${JSON.stringify(manifest)}\n`));
    pack.finalize();
    await flowing;
    const files = entries.filter((e) => e.type === "file").length;
    const stored = opts.sinkDigest ? opts.sinkDigest() : { sha256: out.digest(), bytes: out.bytes };
    return { sha256: stored.sha256, sizeBytes: stored.bytes, files, contentBytes: entries.reduce((s, e) => s + e.size, 0), skipped };
  } catch (err) {
    pack.destroy(); // without the error: it is rethrown below, not emitted on every stage
    zstd.destroy();
    await settled;
    throw err;
  } finally {
    reader.close();
    fs.closeSync(rootFd);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface Extracted {
  header: ArchiveHeader;
  manifest: Manifest;
  /** Directory holding `tenant/` and `state/` as extracted. */
  dir: string;
  /** Every entry extracted, with the size and hash of what was actually written. */
  seen: Map<string, { type: "file" | "dir"; size: number; sha256?: string }>;
  archiveSha256: string;
  archiveBytes: number;
}

function refuse(message: string): AppError {
  return new AppError("INVALID_PARAMS", `refusing the archive: ${message}; nothing was restored`);
}

/** Splits an entry name into checked segments; the top level must be one the format defines. */
function entryPath(raw: string, type: string): string[] {
  const name = type === "directory" && raw.endsWith("/") ? raw.slice(0, -1) : raw;
  let segs: string[];
  try {
    segs = checkRelativePath(name);
  } catch (err) {
    if (err instanceof PathError) throw refuse(`entry ${JSON.stringify(raw.slice(0, 120))}: ${err.message.replace(/^path /, "")}`);
    throw err;
  }
  if (segs.length === 0) throw refuse(`an entry has an empty name`);
  if (name.includes("//") || segs.join("/") !== name.replace(/^\.\//, "")) throw refuse(`entry ${JSON.stringify(raw.slice(0, 120))} is not in normal form`);
  return segs.map((s) => s.normalize("NFC"));
}

export async function extractArchive(opts: {
  source: Readable;
  into: string;
  encryptionKey?: string;
  limits: RestoreLimits;
  onProgress?: (archiveBytes: number) => void;
  /** Called once the header is read (e.g. to refuse an existing target before extracting anything). */
  onHeader?: (h: ArchiveHeader) => void;
  /** Collect garbage fully as it goes: for a process that does nothing else (the CLI), not the gateway. */
  fullCollections?: boolean;
}): Promise<Extracted> {
  fs.mkdirSync(opts.into, { mode: 0o700 });
  const tap = new Tap(opts.onProgress);
  const seen = new Map<string, { type: "file" | "dir"; size: number; sha256?: string }>();
  let header: ArchiveHeader | null = null;
  let manifest: Manifest | null = null;
  let entries = 0;
  let bytes = 0;
  let first = true;
  let extractedSinceGc = 0;

  const extract = tar.extract();
  const writer = new ExtractWriter();
  /** One per file: settles once the writer thread has written and hashed it and its descriptor is closed. */
  const filesDone: Promise<void>[] = [];
  const handleEntry = async (h: tar.Header, stream: Readable) => {
    const type = h.type ?? "file";
    if (type !== "file" && type !== "directory") {
      stream.resume();
      throw refuse(`entry ${JSON.stringify(String(h.name).slice(0, 120))} is a ${type}; only regular files and directories are allowed`);
    }
    if (++entries > opts.limits.maxEntries) throw refuse(`more than ${opts.limits.maxEntries} entries`);
    const segs = entryPath(h.name, type);
    const key = segs.join("/");
    if (seen.has(key) || (first && key !== HEADER_ENTRY)) {
      stream.resume();
      throw refuse(first ? `the first entry is ${JSON.stringify(key)}, not ${HEADER_ENTRY}` : `entry ${JSON.stringify(key)} appears twice (after normalisation)`);
    }
    if (manifest) throw refuse(`entry ${JSON.stringify(key)} comes after the manifest`);
    const size = type === "file" ? (h.size ?? 0) : 0;
    if (size < 0 || !Number.isSafeInteger(size)) throw refuse(`entry ${JSON.stringify(key)} has an invalid size`);
    bytes += size;
    if (bytes > opts.limits.maxBytes) throw refuse(`more than ${opts.limits.maxBytes} bytes of content (backup.maxRestoreBytes)`);

    if (first || key === MANIFEST_ENTRY) {
      if (type !== "file" || size > 64 * 1024 * 1024) throw refuse(`${key} is not a small file`);
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        throw refuse(`${key} is not valid JSON`);
      }
      seen.set(key, { type: "file", size });
      if (first) {
        header = checkHeader(parsed);
        first = false;
        opts.onHeader?.(header);
      } else manifest = parsed as Manifest;
      return;
    }
    const top = segs[0]!;
    const allowedTop = top === "tenant" || (top === "state" && segs.length === 2 && type === "file" && (STATE_TABLES as readonly string[]).includes(segs[1]!.replace(/\.jsonl$/, "")) && segs[1]!.endsWith(".jsonl"));
    if (!allowedTop) throw refuse(`entry ${JSON.stringify(key)} is outside the tenant (not tenant/…, state/<table>.jsonl or the format's own files)`);
    if (top === "tenant" && segs.length > 1) opts.limits.tenant?.({ size, dir: type === "directory" });
    // Nothing may be written below an entry that was a file (the mkdir below would also refuse it).
    const abs = path.join(opts.into, ...segs);
    const parentKey = segs.slice(0, -1).join("/");
    if (seen.get(parentKey)?.type === "file") throw refuse(`entry ${JSON.stringify(key)} is inside ${JSON.stringify(parentKey)}, which is a file`);
    if (type === "directory") {
      fs.mkdirSync(abs, { recursive: true, mode: 0o700 });
      seen.set(key, { type: "dir", size: 0 });
      stream.resume();
      return;
    }
    fs.mkdirSync(path.dirname(abs), { recursive: true, mode: 0o700 });
    const st = fs.lstatSync(path.dirname(abs));
    if (!st.isDirectory() || st.isSymbolicLink()) throw refuse(`entry ${JSON.stringify(key)} has a parent that is not a directory`);
    let fd: number;
    try {
      fd = fs.openSync(abs, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      throw refuse(`entry ${JSON.stringify(key)} cannot be created (${(err as NodeJS.ErrnoException).code})`);
    }
    // Written and hashed on the writer thread; the digest is checked against the manifest later.
    let written = 0;
    try {
      await pipeline(
        stream,
        new Writable({
          write(chunk: Buffer, _e, cb) {
            written += chunk.length;
            extractedSinceGc += chunk.length;
            if (extractedSinceGc > (opts.fullCollections ? 128 : 64) * 1024 * 1024) {
              // The decompressor's chunks die fast; collect them before they pile up. A hint (the
              // gateway: its requests must not wait on a full collection) leaves 60+ MB of them
              // waiting at times; a full collection every 128 MiB (the CLI, which does nothing else)
              // keeps a 1 GB restore's peak RSS near 160 MB instead of 175–200 MB, no slower.
              extractedSinceGc = 0;
              Bun.gc(!!opts.fullCollections);
            }
            const room = writer.write(fd, chunk);
            if (room) room.then(() => cb());
            else cb();
          },
        }),
      );
    } catch (err) {
      filesDone.push(writer.end(fd).then(noop, noop).finally(() => fs.closeSync(fd)));
      throw err;
    }
    if (written !== size) {
      filesDone.push(writer.end(fd).then(noop, noop).finally(() => fs.closeSync(fd)));
      throw refuse(`entry ${JSON.stringify(key)} is ${written} bytes, not the ${size} its header says`);
    }
    const entry: { type: "file"; size: number; sha256?: string } = { type: "file", size: written };
    seen.set(key, entry);
    filesDone.push(
      writer
        .end(fd)
        .then((r) => {
          if (r.bytes !== written) throw new Error(`${key}: ${r.bytes} of ${written} bytes written`);
          entry.sha256 = r.sha256;
        })
        .finally(() => fs.closeSync(fd)),
    );
  };

  // Errors reach the pipeline below; this listener only keeps a late one (after the pipeline has
  // settled) from surfacing as an unhandled event.
  extract.on("error", () => {});
  extract.on("entry", (h, stream, next) => {
    stream.on("error", () => {}); // destroyed with the refusal below; the pipeline reports it
    handleEntry(h, stream as unknown as Readable).then(
      () => next(),
      (err) => {
        stream.resume();
        extract.destroy(err);
      },
    );
  });

  // Decide the decoder from the first bytes.
  const firstBytes = await readStart(opts.source, 8);
  const stages: (NodeJS.ReadableStream | NodeJS.WritableStream)[] = [firstBytes.stream, tap];
  if (firstBytes.head.subarray(0, 8).equals(ENCRYPTED_MAGIC)) stages.push(new DecryptStream(opts.encryptionKey));
  else if (!firstBytes.head.subarray(0, 4).equals(ZSTD_MAGIC)) throw refuse("it is neither a zstd stream nor an encrypted backup");
  stages.push(zlib.createZstdDecompress({ chunkSize: 1 << 20 }), new Cap(opts.limits.maxBytes + 64 * 1024 * 1024), extract);
  let written: PromiseSettledResult<void>[];
  try {
    await pipeline(stages as never);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw refuse(`it cannot be read (${(err as Error).message.split("\n")[0]})`);
  } finally {
    // Nothing may still be writing (or hold a descriptor) once this returns or throws.
    written = await Promise.allSettled(filesDone);
    writer.close();
  }
  const failed = written.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw new AppError("INTERNAL", `restore could not write a file: ${String(failed.reason?.message ?? failed.reason)}`);
  if (!header) throw refuse(`it has no ${HEADER_ENTRY}`);
  if (!manifest) throw refuse(`it has no ${MANIFEST_ENTRY} (truncated?)`);
  return { header, manifest, dir: opts.into, seen, archiveSha256: tap.digest(), archiveBytes: tap.bytes };
}

/** Reads at least `n` bytes from the start of a stream and gives back a stream of everything. */
async function readStart(source: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
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

function checkHeader(raw: unknown): ArchiveHeader {
  const h = raw as Partial<ArchiveHeader>;
  if (!h || typeof h !== "object" || h.format !== FORMAT) throw refuse(`${HEADER_ENTRY} does not describe an OpenClawMU backup`);
  if (h.version !== FORMAT_VERSION) throw refuse(`it is format version ${String(h.version)}; this gateway reads version ${FORMAT_VERSION}`);
  if (typeof h.tenantId !== "string" || !/^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/.test(h.tenantId)) throw refuse(`${HEADER_ENTRY} names no valid tenant`);
  return h as ArchiveHeader;
}

/** The manifest must list exactly what was extracted, with the same sizes and hashes. */
export function verifyManifest(x: Extracted): void {
  const m = x.manifest;
  if (m.format !== FORMAT || m.version !== x.header.version || m.tenantId !== x.header.tenantId) throw refuse("the manifest does not match the archive's header");
  if (!Array.isArray(m.entries)) throw refuse("the manifest has no entry list");
  const listed = new Set<string>();
  for (const e of m.entries) {
    if (!e || typeof e.path !== "string") throw refuse("the manifest has a malformed entry");
    if (listed.has(e.path)) throw refuse(`the manifest lists ${JSON.stringify(e.path)} twice`);
    listed.add(e.path);
    const got = x.seen.get(e.path);
    if (!got) throw refuse(`${JSON.stringify(e.path)} is in the manifest but not in the archive`);
    if (got.type !== e.type) throw refuse(`${JSON.stringify(e.path)} is a ${got.type} in the archive but a ${e.type} in the manifest`);
    if (e.type === "file" && (got.size !== e.size || got.sha256 !== e.sha256)) throw refuse(`${JSON.stringify(e.path)} does not match its size and SHA-256 in the manifest`);
  }
  for (const [p] of x.seen) {
    if (p === HEADER_ENTRY || p === MANIFEST_ENTRY || p === "tenant") continue;
    if (!listed.has(p)) throw refuse(`${JSON.stringify(p)} is in the archive but not in the manifest`);
  }
}
