// Reading packages from disk. A kind's folder (tenants/<id>/skills, …/plugins, <home>/skills) is
// held by a descriptor, and everything below it is reached with openat2 beneath that descriptor with
// no symbolic link anywhere (lib/confined-dir.ts): a link in a package — leaving the tenant or not —
// makes the package an error, it is never followed. Caps on files, bytes, depth and the marker's
// size hold before anything is read whole. Nothing is executed or imported; a package that fails
// is returned with status "error" and the reason, and never stops the others.
import fs from "node:fs";
import { DIR_NOFOLLOW, fdPath, lstatAt, openDirBeneath, STRICTLY_BENEATH } from "../../lib/confined-dir.ts";
import { Openat2Error, openBeneath } from "../../lib/openat2.ts";
import { PackageProblem, parseSkillMd } from "./front-matter.ts";
import { parseManifest } from "./manifest.ts";
import { MARKER, PACKAGE_NAME, type LoadedPackage, type PackageCaps, type PackageKind } from "./package.types.ts";
import { MAX_PACKAGE_DEPTH } from "./unpack.ts";

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

/** A folder name shown back safely (no control characters, bounded). */
export const shownName = (n: string) => n.slice(0, 64).replace(/[\u0000-\u001f\u007f]/g, "?");

function errorCode(err: unknown): string {
  return err instanceof Openat2Error ? err.code : String((err as NodeJS.ErrnoException)?.code ?? err);
}

/** Every file and folder of the package, checked: no links, nothing but files and folders, within the caps. */
function walk(pkgFd: number, caps: PackageCaps): { files: Set<string>; entries: number; bytes: number } {
  const files = new Set<string>();
  let entries = 0;
  let bytes = 0;
  const visit = (fd: number, prefix: string, depth: number) => {
    const names = fs.readdirSync(fdPath(fd));
    for (const n of names) {
      const rel = prefix ? `${prefix}/${n}` : n;
      if (++entries > caps.maxFiles) throw new PackageProblem(`it holds more than ${caps.maxFiles} files and folders (gateway.skills.maxFiles)`);
      const st = lstatAt(fd, n);
      if (!st) continue;
      if (st.isSymbolicLink()) throw new PackageProblem(`it holds a symbolic link (${shownName(rel)}); links are refused in skills and plugins`);
      if (st.isDirectory()) {
        if (depth >= MAX_PACKAGE_DEPTH) throw new PackageProblem(`it nests folders more than ${MAX_PACKAGE_DEPTH} deep`);
        let sub: number;
        try {
          sub = openDirBeneath(fd, n);
        } catch (err) {
          throw new PackageProblem(`${shownName(rel)} cannot be opened (${errorCode(err)})`);
        }
        try {
          visit(sub, rel, depth + 1);
        } finally {
          fs.closeSync(sub);
        }
      } else if (st.isFile()) {
        if (st.nlink > 1) throw new PackageProblem(`${shownName(rel)} has other hard links; refused in skills and plugins`);
        bytes += st.size;
        if (bytes > caps.maxBytes) throw new PackageProblem(`its files hold more than ${caps.maxBytes} bytes (gateway.skills.maxBytes)`);
        files.add(rel);
      } else throw new PackageProblem(`${shownName(rel)} is not a regular file or folder`);
    }
  };
  visit(pkgFd, "", 0);
  return { files, entries, bytes };
}

/** Reads a small file beneath `dirFd` (no link, a regular file, at most `max` bytes). */
export function readSmall(dirFd: number, rel: string, max: number, what: string): string {
  let fd: number;
  try {
    fd = openBeneath(dirFd, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0, STRICTLY_BENEATH);
  } catch (err) {
    const code = errorCode(err);
    throw new PackageProblem(code === "ENOENT" ? `it has no ${what}` : code === "ELOOP" ? `its ${what} is a symbolic link` : `its ${what} cannot be opened (${code})`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new PackageProblem(`its ${what} is not a regular file`);
    if (st.size > max) throw new PackageProblem(`its ${what} is larger than ${max} bytes`);
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    for (let r = 1; r > 0 && n <= max; n += r) r = fs.readSync(fd, buf, n, max + 1 - n, null);
    if (n > max) throw new PackageProblem(`its ${what} is larger than ${max} bytes`);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(0, n));
    } catch {
      throw new PackageProblem(`its ${what} is not valid UTF-8`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** One package, read and checked; never throws (a problem is the package's status "error"). */
export function readPackage(kindFd: number, kind: PackageKind, dir: string, source: LoadedPackage["source"], caps: PackageCaps, name = dir): LoadedPackage {
  const base: LoadedPackage = { kind, name: shownName(name), source, status: "error", description: "", files: 0, bytes: 0 };
  if (!PACKAGE_NAME.test(name)) return { ...base, error: `the folder's name is not a valid ${kind} name (${PACKAGE_NAME.source})` };
  let pkgFd: number;
  try {
    pkgFd = openBeneath(kindFd, dir, DIR_NOFOLLOW, 0, STRICTLY_BENEATH);
  } catch (err) {
    const code = errorCode(err);
    // O_NOFOLLOW|O_DIRECTORY on a link answers ENOTDIR: say which it is.
    const link = code === "ELOOP" || !!lstatAt(kindFd, dir)?.isSymbolicLink();
    return { ...base, error: link ? "it is a symbolic link; links are refused" : code === "ENOTDIR" ? "it is not a folder" : `it cannot be opened (${code})` };
  }
  try {
    const w = walk(pkgFd, caps);
    const sized = { ...base, files: w.entries, bytes: w.bytes };
    if (kind === "skill") {
      const s = parseSkillMd(readSmall(pkgFd, MARKER.skill, caps.maxSkillMdBytes, MARKER.skill), name);
      return { ...sized, status: "ok", description: s.description, body: s.body };
    }
    const m = parseManifest(readSmall(pkgFd, MARKER.plugin, caps.maxManifestBytes, MARKER.plugin), name, w.files);
    return { ...sized, status: "ok", ...m };
  } catch (err) {
    return { ...base, error: err instanceof PackageProblem ? err.message : `it cannot be read (${errorCode(err)})` };
  } finally {
    fs.closeSync(pkgFd);
  }
}

/** Opens a kind's folder (`rel` beneath `rootFd`, no link on the way); null when there is none. */
export function openKindDir(rootFd: number, rel: string): number | null {
  try {
    return openDirBeneath(rootFd, rel);
  } catch (err) {
    if (errorCode(err) === "ENOENT") return null;
    throw err;
  }
}

/** Every package in a kind's folder (names starting with "." are the gateway's own: skipped), sorted; at most `max`. */
export function readKindDir(kindFd: number, kind: PackageKind, source: LoadedPackage["source"], caps: PackageCaps, max: number): LoadedPackage[] {
  const names = fs
    .readdirSync(fdPath(kindFd))
    .filter((n) => !n.startsWith("."))
    .sort();
  return names.slice(0, max).map((n) => readPackage(kindFd, kind, n, source, caps));
}
