// Where a tenant's backups may go and come from. S3 keys of tenant X lie under X's prefix
// (`<prefix>tenants/X/`; generated ones under its incarnation, so a later tenant of the id never lists
// a previous owner's archives). Local files never lie inside the gateway's home — tenants read and
// write there, and state.db is there — nor behind a symbolic link anywhere on the way, and an
// existing file is replaced only if it is one of our archives. The directory is checked through a
// descriptor and the file is then reached through that same descriptor, so what was checked is what
// is used.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import type { GatewayConfig } from "../../config/schema.ts";
import { AppError } from "../../core/errors.ts";
import { fdPath } from "../../lib/confined-dir.ts";
import { openBeneath, Openat2Error, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS } from "../../lib/openat2.ts";
import { FORMAT, HEADER_ENTRY } from "./archive-format.ts";
import { ENCRYPTED_MAGIC } from "./encryption.ts";

const AT_FDCWD = -100;
const O_PATH = 0o10000000;
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** 20260102T030405Z */
export function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

/** Every key of tenant X's archives lies under this: `<backup.s3.prefix>tenants/X/`. */
export function tenantPrefix(config: GatewayConfig, tenantId: string): string {
  return `${config.backup.s3?.prefix ?? ""}tenants/${tenantId}/`;
}

/** Generated keys of one incarnation of a tenant: `<prefix>tenants/X/<incarnation>/`. */
export function incarnationPrefix(config: GatewayConfig, tenantId: string, incarnation: string): string {
  return `${tenantPrefix(config, tenantId)}${incarnation}/`;
}

export function generatedKey(config: GatewayConfig, tenantId: string, incarnation: string, backupId: string, when: number): string {
  return `${incarnationPrefix(config, tenantId, incarnation)}${stamp(when)}-${backupId}.tar.zst`;
}

/**
 * The tenant a key lies under: the segment after the key's first directory named `tenants`, or null
 * (no such directory, or a second `tenants` directory further down, which would put the key under two
 * tenants' prefixes at once). `<lead>tenants/X/…` is tenant X's for any lead the operator chooses.
 */
export function keyTenant(key: string): string | null {
  const dirs = key.split("/").slice(0, -1);
  const i = dirs.indexOf("tenants");
  if (i < 0 || i + 1 >= dirs.length) return null;
  if (dirs.slice(i + 2).includes("tenants")) return null;
  return dirs[i + 1]!;
}

/**
 * The key an admin's S3 target names for tenant X. A key must lie under X's prefix
 * (`<lead>tenants/X/…`, lead chosen by the operator). A prefix target (ending in "/", or the bucket
 * itself) gets a generated key: under it plus `<backup.s3.prefix>tenants/X/<incarnation>/` if it names
 * no tenant, or directly under it if it is inside X's prefix. Anything under another tenant's prefix,
 * or under none, is refused: a backup is listed, pruned and restored by the prefix it lies under.
 */
export function confineS3Key(config: GatewayConfig, tenantId: string, incarnation: string, bucket: string, key: string, backupId: string, when: number): string {
  const name = `${stamp(when)}-${backupId}.tar.zst`;
  let full = key;
  if (key === "" || key.endsWith("/")) full = key.split("/").includes("tenants") ? `${key}${name}` : `${key}${generatedKey(config, tenantId, incarnation, backupId, when)}`;
  if (keyTenant(full) !== tenantId) {
    throw new AppError(
      "INVALID_PARAMS",
      `S3 keys of tenant "${tenantId}" must lie under its prefix, …/tenants/${tenantId}/ (and under no other tenant's); got ${JSON.stringify(key.slice(0, 200))} — give s3://${bucket}/ or s3://${bucket}/<prefix>/ to have a key generated`,
    );
  }
  return full;
}

export interface ConfinedFile {
  /** The path as the operator gave it (records, messages). */
  path: string;
  /** The same file reached through the checked directory's descriptor: use this for I/O. */
  via: string;
  /** The file as it is now (lstat), or null if there is none. */
  existing: fs.Stats | null;
  close(): void;
}

function dirError(what: string, dir: string, err: unknown): AppError {
  const code = err instanceof Openat2Error ? err.code : (err as NodeJS.ErrnoException).code;
  if (code === "ELOOP" || code === "EXDEV") return new AppError("INVALID_PARAMS", `${what} ${dir}: a symbolic link is on the way (give the real path)`);
  if (code === "ENOENT") return new AppError("INVALID_PARAMS", `${what} ${dir}: no such directory`);
  if (code === "ENOTDIR") return new AppError("INVALID_PARAMS", `${what} ${dir} is not a directory`);
  if (code === "ENOSYS") return new AppError("UNAVAILABLE", "backups to and from files need openat2 (Linux 5.6 or later)");
  return new AppError("INVALID_PARAMS", `${what} ${dir}: ${String((err as Error).message ?? err)}`);
}

/** True if the directory open as `fd`, or any directory above it, is `home` (same device and inode: bind mounts too). */
function insideHome(fd: number, home: fs.Stats): boolean {
  let cur = fd;
  try {
    for (let depth = 0; depth < 4096; depth++) {
      const st = fs.fstatSync(cur);
      if (st.dev === home.dev && st.ino === home.ino) return true;
      const up = openBeneath(cur, "..", O_PATH | fs.constants.O_DIRECTORY, 0, 0);
      const upSt = fs.fstatSync(up);
      if (cur !== fd) fs.closeSync(cur);
      cur = up;
      if (upSt.dev === st.dev && upSt.ino === st.ino) return false; // the root
    }
    return true; // deeper than any real tree: refuse
  } finally {
    if (cur !== fd) fs.closeSync(cur);
  }
}

/**
 * Checks a local backup target or restore source: an absolute path whose directory is reached with
 * no symbolic link on the way and is not the gateway's home or anything under it; the file itself, if
 * present, is a regular file (not a link). The caller closes it after the I/O.
 */
export function confineLocalFile(home: string, file: string, what: "backup target" | "restore source" | "backup"): ConfinedFile {
  const dir = path.dirname(file);
  const name = path.basename(file);
  if (!name || name === "." || name === ".." || dir === file) throw new AppError("INVALID_PARAMS", `${what} ${file} does not name a file`);
  const homeStat = fs.statSync(home);
  let fd: number;
  try {
    fd = openBeneath(AT_FDCWD, dir, O_PATH | fs.constants.O_DIRECTORY, 0, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  } catch (err) {
    throw dirError(what, dir, err);
  }
  try {
    if (insideHome(fd, homeStat)) {
      throw new AppError("INVALID_PARAMS", `${what} ${file} is inside the gateway's home (${home}), where tenants read and write and the gateway keeps its state; choose a directory outside it`);
    }
    const via = fs.existsSync(fdPath(fd)) ? fdPath(fd, name) : file;
    const existing = fs.lstatSync(via, { throwIfNoEntry: false }) ?? null;
    if (existing?.isSymbolicLink()) throw new AppError("INVALID_PARAMS", `${what} ${file} is a symbolic link`);
    if (existing && !existing.isFile()) throw new AppError("INVALID_PARAMS", `${what} ${file} exists and is not a regular file`);
    return {
      path: file,
      via,
      existing,
      close: () => {
        try {
          fs.closeSync(fd);
        } catch {
          // already closed
        }
      },
    };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/**
 * True if the file starts like one of our archives: the encryption header, or a zstd stream whose
 * first tar entry is our header with our format name. Reads at most 256 KiB; never follows a link.
 */
export async function isOurArchive(file: string): Promise<boolean> {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return false;
  }
  let head: Buffer;
  try {
    if (!fs.fstatSync(fd).isFile()) return false;
    const buf = Buffer.alloc(256 * 1024);
    head = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0));
  } finally {
    fs.closeSync(fd);
  }
  if (head.subarray(0, 8).equals(ENCRYPTED_MAGIC)) return true;
  if (!head.subarray(0, 4).equals(ZSTD_MAGIC)) return false;
  // Decompress what we read (a truncated stream ends in an error after its data) and look at the tar header.
  const plain = await new Promise<Buffer>((resolve) => {
    const d = zlib.createZstdDecompress();
    const out: Buffer[] = [];
    let n = 0;
    d.on("data", (c: Buffer) => {
      out.push(c);
      n += c.length;
      if (n >= 8192) d.destroy();
    });
    d.on("close", () => resolve(Buffer.concat(out)));
    d.on("error", () => {});
    d.end(head);
  });
  if (plain.length < 512) return false;
  const name = plain.subarray(0, 100).toString("latin1").replace(/\0.*$/s, "");
  if (name !== HEADER_ENTRY) return false;
  const size = Number.parseInt(plain.subarray(124, 136).toString("latin1").replace(/\0.*$/s, "").trim(), 8);
  if (!Number.isInteger(size) || size <= 0 || 512 + size > plain.length) return false;
  try {
    return (JSON.parse(plain.subarray(512, 512 + size).toString("utf8")) as { format?: unknown }).format === FORMAT;
  } catch {
    return false;
  }
}
