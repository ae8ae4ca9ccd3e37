// Reading a backup archive (archive-format.ts). Nothing in it is trusted: every entry is checked
// (type, path, duplicates after normalisation, size and count caps, total decompressed bytes) before
// a byte is written, and is written only inside a fresh private directory with O_EXCL|O_NOFOLLOW.
// The caller verifies the manifest (verifyManifest) and then moves the result into place.
import fs from "node:fs";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import tar from "tar-stream";
import { AppError } from "../../core/errors.ts";
import { fdPath } from "../../lib/confined-dir.ts";
import { DEFAULT_MAX_JSON_DEPTH, depthMessage, jsonDepthExcess } from "../../lib/json-safe.ts";
import { MAX_TREE_DEPTH } from "../../lib/tree-walk.ts";
import { ArchiveEntryError, checkEntryType, entrySegments } from "../paths/archive-entry.ts";
import { checkHeader, FORMAT, HEADER_ENTRY, MANIFEST_ENTRY, refuse, type ArchiveHeader, type Manifest, type RestoreLimits } from "./archive-format.ts";
import { Cap, readStart, Tap, ZSTD_MAGIC } from "./archive-streams.ts";
import { DecryptStream, ENCRYPTED_MAGIC } from "./encryption.ts";
import { ExtractDirs } from "./extract-dirs.ts";
import { ExtractWriter } from "./extract-writer.ts";

const noop = () => {};

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


/**
 * The longest entry name: a tenant tree may be MAX_TREE_DEPTH levels deep with 255-byte names, far
 * past PATH_MAX; entries are created one directory at a time (./extract-dirs.ts), never by one path.
 */
const MAX_ENTRY_PATH = (MAX_TREE_DEPTH + 3) * 256;

/** Splits an entry name into checked segments (the checks every unpacked archive shares: paths/archive-entry.ts). */
function entryPath(raw: string, type: string): string[] {
  try {
    return entrySegments(raw, checkEntryType(raw, type), MAX_ENTRY_PATH);
  } catch (err) {
    if (err instanceof ArchiveEntryError) throw refuse(err.message);
    throw err;
  }
}

export async function extractArchive(opts: {
  source: Readable;
  into: string;
  encryptionKey?: string;
  limits: RestoreLimits;
  onProgress?: (archiveBytes: number) => void;
  /** Called once the header is read (e.g. to refuse an existing target before extracting anything). */
  onHeader?: (h: ArchiveHeader) => void;
  /** The tables whose rows an archive may carry (state/<table>.jsonl): those the modules back up. */
  tables: readonly string[];
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
  const dirs = new ExtractDirs(opts.into, (key) => refuse(`entry ${JSON.stringify(key.slice(0, 120))} has a parent that is not a directory`));
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
      const text = Buffer.concat(chunks).toString("utf8");
      // The same depth cap as every JSON the gateway is sent: an archive is input too.
      const tooDeep = jsonDepthExcess(text, DEFAULT_MAX_JSON_DEPTH);
      if (tooDeep !== null) throw refuse(`${key} is ${depthMessage(DEFAULT_MAX_JSON_DEPTH)} (at character ${tooDeep})`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
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
    const allowedTop = top === "tenant" || (top === "state" && segs.length === 2 && type === "file" && opts.tables.includes(segs[1]!.replace(/\.jsonl$/, "")) && segs[1]!.endsWith(".jsonl"));
    if (!allowedTop) throw refuse(`entry ${JSON.stringify(key)} is outside the tenant (not tenant/…, state/<table>.jsonl or the format's own files)`);
    // The tenant's tree is held to the depth every tenant tree is (tenant/ is its level 0).
    const dirDepth = segs.length - (type === "directory" ? 1 : 2);
    if (top === "tenant" && dirDepth > MAX_TREE_DEPTH) throw refuse(`entry ${JSON.stringify(key.slice(0, 120))}… is nested more than ${MAX_TREE_DEPTH} directories deep`);
    if (top === "tenant" && segs.length > 1) opts.limits.tenant?.({ size, dir: type === "directory" });
    // Nothing may be written below an entry that was a file (the mkdir below would also refuse it).
    const parentKey = segs.slice(0, -1).join("/");
    if (seen.get(parentKey)?.type === "file") throw refuse(`entry ${JSON.stringify(key)} is inside ${JSON.stringify(parentKey)}, which is a file`);
    // Directories are made and opened one name at a time (paths may be longer than PATH_MAX).
    if (type === "directory") {
      dirs.ensure(segs);
      seen.set(key, { type: "dir", size: 0 });
      stream.resume();
      return;
    }
    const parentFd = dirs.ensure(segs.slice(0, -1));
    let fd: number;
    try {
      fd = fs.openSync(fdPath(parentFd, segs[segs.length - 1]!), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
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

  let written: PromiseSettledResult<void>[];
  try {
    // Decide the decoder from the first bytes.
    const firstBytes = await readStart(opts.source, 8);
    const stages: (NodeJS.ReadableStream | NodeJS.WritableStream)[] = [firstBytes.stream, tap];
    if (firstBytes.head.subarray(0, 8).equals(ENCRYPTED_MAGIC)) stages.push(new DecryptStream(opts.encryptionKey));
    else if (!firstBytes.head.subarray(0, 4).equals(ZSTD_MAGIC)) throw refuse("it is neither a zstd stream nor an encrypted backup");
    stages.push(zlib.createZstdDecompress({ chunkSize: 1 << 20 }), new Cap(opts.limits.maxBytes + 64 * 1024 * 1024), extract);
    await pipeline(stages as never);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw refuse(`it cannot be read (${(err as Error).message.split("\n")[0]})`);
  } finally {
    // Nothing may still be writing (or hold a descriptor) once this returns or throws.
    written = await Promise.allSettled(filesDone);
    writer.close();
    dirs.close();
  }
  const failed = written.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw new AppError("INTERNAL", `restore could not write a file: ${String(failed.reason?.message ?? failed.reason)}`);
  if (!header) throw refuse(`it has no ${HEADER_ENTRY}`);
  if (!manifest) throw refuse(`it has no ${MANIFEST_ENTRY} (truncated?)`);
  return { header, manifest, dir: opts.into, seen, archiveSha256: tap.digest(), archiveBytes: tap.bytes };
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

