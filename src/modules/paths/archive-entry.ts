// The checks every archive entry the gateway unpacks goes through — a backup being restored
// (modules/backup/archive-read.ts) and a skill or plugin being installed (modules/skills/) — so the
// two can never drift: only regular files and directories, a name the one resolver accepts (relative,
// no "..", no backslash, no control character), in normal form, NFC, and no name twice.
import { checkRelativePath, PathError } from "./path-resolver.ts";

/** Why an entry is refused; the caller words the refusal for its own surface. */
export class ArchiveEntryError extends Error {}

const shown = (raw: string) => JSON.stringify(String(raw).slice(0, 120));

/** Refuses anything but a regular file or a directory (links, hard links, devices, FIFOs, …). */
export function checkEntryType(raw: string, type: string): "file" | "directory" {
  if (type === "file" || type === "directory") return type;
  throw new ArchiveEntryError(`entry ${shown(raw)} is a ${type}; only regular files and directories are allowed`);
}

/** Splits an entry name into checked segments (NFC); refuses what is not relative, plain and in normal form. */
export function entrySegments(raw: string, type: "file" | "directory", maxLength?: number): string[] {
  const name = type === "directory" && raw.endsWith("/") ? raw.slice(0, -1) : raw;
  let segs: string[];
  try {
    segs = checkRelativePath(name, maxLength);
  } catch (err) {
    if (err instanceof PathError) throw new ArchiveEntryError(`entry ${shown(raw)}: ${err.message.replace(/^path /, "")}`);
    throw err;
  }
  if (segs.length === 0) throw new ArchiveEntryError("an entry has an empty name");
  if (name.includes("//") || segs.join("/") !== name.replace(/^\.\//, "")) throw new ArchiveEntryError(`entry ${shown(raw)} is not in normal form`);
  return segs.map((s) => s.normalize("NFC"));
}

/** Tracks names already seen (after normalisation) and refuses a second entry of the same name. */
export class EntryNames {
  private readonly seen = new Map<string, "file" | "directory">();
  add(segs: readonly string[], type: "file" | "directory"): string {
    const key = segs.join("/");
    if (this.seen.has(key)) throw new ArchiveEntryError(`entry ${shown(key)} appears twice (after normalisation)`);
    const parent = segs.slice(0, -1).join("/");
    if (this.seen.get(parent) === "file") throw new ArchiveEntryError(`entry ${shown(key)} is inside ${shown(parent)}, which is a file`);
    this.seen.set(key, type);
    return key;
  }
  typeOf(key: string) {
    return this.seen.get(key);
  }
}
