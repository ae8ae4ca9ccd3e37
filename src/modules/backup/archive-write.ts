// Writing a backup archive (archive-format.ts) as a stream: memory stays bounded whatever the
// tenant's size. The tenant's directory is walked and read through descriptors opened beneath it, so
// a sandbox of the tenant swapping a directory for a link cannot make the backup read anything else.
import fs from "node:fs";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import tar from "tar-stream";
import { AppError } from "../../core/errors.ts";
import { DIR_NOFOLLOW, fdPath, lstatAt, openDirBeneath, STRICTLY_BENEATH } from "../../lib/confined-dir.ts";
import { openBeneath, openat2Available } from "../../lib/openat2.ts";
import { MAX_TREE_DEPTH, openInPieces, timeSlicer, TreeTooDeep, walkTree } from "../../lib/tree-walk.ts";
import { HEADER_ENTRY, MANIFEST_ENTRY, type ArchiveHeader, type Manifest, type ManifestEntry } from "./archive-format.ts";
import { Tap, ZstdFeeder } from "./archive-streams.ts";
import { CHUNK, ChunkReader } from "./chunk-reader.ts";
import { EncryptStream } from "./encryption.ts";

const noop = () => {};

export interface TreeEntry {
  rel: string;
  type: "file" | "dir";
  size: number;
  mode: number;
  mtimeMs: number;
}

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

/** Refused trees: a backup that cannot hold all of the tenant says so and stores nothing. */
function tooDeep(err: TreeTooDeep): AppError {
  return new AppError("QUOTA_EXCEEDED", `the tenant's directory cannot be backed up: ${err.message}, past the limit of every tenant tree; delete it (files.delete) and back up again; nothing was stored`);
}

/**
 * Directories and regular files under the directory `rootFd` (links never followed; anything else
 * is listed as skipped). The walk is iterative (lib/tree-walk.ts): a tree a sandbox made thousands of
 * levels deep is refused at MAX_TREE_DEPTH (never silently cut short), and the event loop gets a
 * turn every few milliseconds. Each directory is opened with openat2 beneath its parent and read
 * through its descriptor, so a sandbox of the tenant that swaps a directory for a symlink while the
 * backup runs cannot make the gateway list — or later read — anything outside the tenant.
 */
export async function walkTenant(rootFd: number): Promise<{ entries: TreeEntry[]; skipped: { path: string; kind: string }[] }> {
  const entries: TreeEntry[] = [];
  const skipped: { path: string; kind: string }[] = [];
  const pause = timeSlicer();
  const open = (dirFd: number, name: string, rel: string): number | null => {
    try {
      return openDirBeneath(dirFd, name);
    } catch {
      skipped.push({ path: rel, kind: "changed" }); // swapped for something else since the lstat
      return null;
    }
  };
  try {
    for (const e of walkTree(rootFd, { maxDepth: MAX_TREE_DEPTH, sorted: true, lstat: (fd, name) => lstatAt(fd, name), open })) {
      const { st, rel } = e;
      if (st.isDirectory()) entries.push({ rel, type: "dir", size: 0, mode: st.mode & 0o777, mtimeMs: st.mtimeMs });
      else if (st.isFile()) entries.push({ rel, type: "file", size: st.size, mode: st.mode & 0o777, mtimeMs: st.mtimeMs });
      else skipped.push({ path: rel, kind: st.isSymbolicLink() ? "symlink" : st.isFIFO() ? "fifo" : st.isSocket() ? "socket" : "device" });
      const p = pause();
      if (p) await p;
    }
  } catch (err) {
    if (err instanceof TreeTooDeep) throw tooDeep(err);
    throw err;
  }
  // A directory that was listed but could not be opened is listed as changed, not archived empty.
  const changed = new Set(skipped.filter((s) => s.kind === "changed").map((s) => s.path));
  return { entries: changed.size ? entries.filter((e) => !changed.has(e.rel)) : entries, skipped };
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
  stateFiles: { table: string; file: string }[];
  sink: Writable;
  /** Set when the sink hashes the archive itself; otherwise it is hashed here. */
  sinkDigest?: () => { sha256: string; bytes: number };
  encryptionKey?: string;
  onProgress?: (done: number, total: number) => void;
}): Promise<WriteResult> {
  if (!openat2Available()) throw new AppError("UNAVAILABLE", "backups need openat2 (Linux 5.6 or later) to read a tenant's files safely");
  const rootFd = fs.openSync(opts.tenantRoot, DIR_NOFOLLOW);
  let walked: Awaited<ReturnType<typeof walkTenant>>;
  try {
    walked = await walkTenant(rootFd);
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
      // In pieces: a tree at the depth limit with long names has paths longer than PATH_MAX.
      fd = openInPieces(rootFd, e.rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, (dir, rel, flags) => openBeneath(dir, rel, flags, 0, STRICTLY_BENEATH));
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

