// An uploaded skill or plugin archive, unpacked in memory and checked entry by entry before anything
// is written: tar (plain or gzip) or zip. The entry checks are the ones a restore makes
// (paths/archive-entry.ts: regular files and directories only, names the one resolver accepts, in
// normal form, none twice); on top, caps on entries, on each file's and all files' bytes, and on what
// a compressed stream may inflate to (a bomb stops at the cap, it is never inflated whole).
import { Readable } from "node:stream";
import zlib from "node:zlib";
import tar from "tar-stream";
import { AppError } from "../../core/errors.ts";
import { ArchiveEntryError, checkEntryType, entrySegments, EntryNames } from "../paths/archive-entry.ts";
import type { PackageCaps, PackageKind } from "./package.types.ts";
import { MARKER } from "./package.types.ts";
import { readZip, ZipError, type RawEntry } from "./zip.ts";

export interface UnpackedEntry {
  segs: string[];
  type: "file" | "directory";
  data: Buffer;
  executable: boolean;
}

/** Nesting below the package's folder an archive may have (a package is a small tree). */
export const MAX_PACKAGE_DEPTH = 8;

export function refuseArchive(kind: PackageKind, why: string): AppError {
  return new AppError("INVALID_PARAMS", `refusing the ${kind} archive: ${why}; nothing was installed`);
}

async function tarEntries(buf: Buffer, caps: PackageCaps): Promise<RawEntry[]> {
  const out: RawEntry[] = [];
  const extract = tar.extract();
  let failure: Error | null = null;
  extract.on("entry", (h, stream, next) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const declared = h.size ?? 0;
    stream.on("data", (chunk: unknown) => {
      const c = chunk as Buffer;
      got += c.length;
      // Held only up to the package cap: the tar header's size is what the caps were checked against.
      if (got <= caps.maxBytes) chunks.push(c);
    });
    stream.on("end", () => {
      if (out.length >= caps.maxFiles + 1) failure ??= new ArchiveEntryError(`it has more than ${caps.maxFiles} entries`);
      const data = Buffer.concat(chunks);
      out.push({ name: h.name, type: h.type ?? "file", size: declared, mode: h.mode ?? 0o644, read: () => data });
      next();
    });
    stream.on("error", () => {});
  });
  try {
    await new Promise<void>((resolve, reject) => {
      extract.on("finish", resolve);
      extract.on("error", reject);
      Readable.from([buf]).pipe(extract);
    });
  } catch (err) {
    throw new ArchiveEntryError(`it is not a readable tar archive (${(err as Error).message.split("\n")[0]})`);
  }
  if (failure) throw failure;
  return out;
}

/** The archive's entries, checked; refuses (INVALID_PARAMS, naming the problem) whatever is not plain. */
export async function unpackArchive(kind: PackageKind, archive: Buffer, caps: PackageCaps): Promise<UnpackedEntry[]> {
  if (archive.length > caps.maxArchiveBytes) throw refuseArchive(kind, `it is ${archive.length} bytes; at most ${caps.maxArchiveBytes} are taken (gateway.skills.maxArchiveBytes)`);
  try {
    let raw: RawEntry[];
    if (archive.length >= 4 && archive[0] === 0x50 && archive[1] === 0x4b) raw = readZip(archive, caps.maxFiles + 1);
    else {
      let tarBytes = archive;
      if (archive.length >= 2 && archive[0] === 0x1f && archive[1] === 0x8b) {
        // Headers take 512 bytes an entry, and padding up to 511 more: room for those and no more.
        const room = caps.maxBytes + (caps.maxFiles + 2) * 2048 + 1024 * 1024;
        try {
          tarBytes = zlib.gunzipSync(archive, { maxOutputLength: room });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw new ArchiveEntryError(`it inflates to more than ${room} bytes (a package holds at most ${caps.maxBytes})`);
          throw new ArchiveEntryError("it is not a readable gzip stream");
        }
      } else if (archive.length < 512 || archive.subarray(257, 262).toString("latin1") !== "ustar") {
        throw new ArchiveEntryError("it is neither a tar, a tar.gz nor a zip archive");
      }
      raw = await tarEntries(tarBytes, caps);
    }
    return vet(raw, caps, kind);
  } catch (err) {
    if (err instanceof ArchiveEntryError || err instanceof ZipError) throw refuseArchive(kind, err.message);
    throw err;
  }
}

function vet(raw: RawEntry[], caps: PackageCaps, kind: PackageKind): UnpackedEntry[] {
  if (raw.length > caps.maxFiles) throw new ArchiveEntryError(`it has more than ${caps.maxFiles} entries (gateway.skills.maxFiles)`);
  const names = new EntryNames();
  let total = 0;
  const checked: { e: RawEntry; segs: string[]; type: "file" | "directory" }[] = [];
  // Every name, type and size is checked before any entry's bytes are inflated.
  for (const e of raw) {
    const type = checkEntryType(e.name, e.type);
    const segs = entrySegments(e.name, type);
    names.add(segs, type);
    if (segs.length > MAX_PACKAGE_DEPTH + 1) throw new ArchiveEntryError(`entry ${JSON.stringify(e.name.slice(0, 120))} is nested more than ${MAX_PACKAGE_DEPTH} directories deep`);
    if (!Number.isSafeInteger(e.size) || e.size < 0) throw new ArchiveEntryError(`entry ${JSON.stringify(e.name.slice(0, 120))} has an invalid size`);
    total += e.size;
    if (total > caps.maxBytes) throw new ArchiveEntryError(`its files hold more than ${caps.maxBytes} bytes (gateway.skills.maxBytes)`);
    checked.push({ e, segs, type });
  }
  let entries = checked.map(({ e, segs, type }) => {
    const data = type === "file" ? e.read() : Buffer.alloc(0);
    if (data.length !== e.size) throw new ArchiveEntryError(`entry ${JSON.stringify(e.name.slice(0, 120))} is ${data.length} bytes, not the ${e.size} its header says`);
    return { segs, type, data, executable: type === "file" && (e.mode & 0o100) !== 0 };
  });
  // A package packed with its folder (name/SKILL.md) is taken from inside that folder.
  const marker = MARKER[kind];
  const top = entries[0]?.segs[0];
  if (top !== undefined && !entries.some((x) => x.segs.length === 1 && x.segs[0] === marker) && entries.every((x) => x.segs[0] === top && (x.segs.length > 1 || x.type === "directory"))) {
    entries = entries.filter((x) => x.segs.length > 1).map((x) => ({ ...x, segs: x.segs.slice(1) }));
  }
  if (!entries.some((x) => x.type === "file" && x.segs.length === 1 && x.segs[0] === marker)) throw new ArchiveEntryError(`it has no ${marker} at its top (or in its one top folder)`);
  return entries;
}
