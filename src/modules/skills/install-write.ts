// Writing an unpacked package: into a fresh folder of the gateway's own (".install-<random>") inside
// the kind's folder, one name at a time beneath descriptors (O_EXCL, O_NOFOLLOW: nothing already
// there is written through), read back and checked by the same reader that loads packages, and only
// then renamed into place by the caller. A failure removes the whole scratch folder.
import fs from "node:fs";
import { fdPath, openDirBeneath } from "../../lib/confined-dir.ts";
import { randomBase62 } from "../../lib/base62.ts";
import { removeTree } from "../../lib/tree-remove.ts";
import type { UnpackedEntry } from "./unpack.ts";

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

export const SCRATCH_PREFIX = ".install-";
export const REMOVED_PREFIX = ".removed-";

export function scratchName(prefix: string): string {
  return `${prefix}${randomBase62(12)}`;
}

/** Writes the entries into a new folder `dir` of `kindFd`. */
export function writePackage(kindFd: number, dir: string, entries: readonly UnpackedEntry[]): void {
  fs.mkdirSync(fdPath(kindFd, dir), { mode: 0o755 });
  const top = openDirBeneath(kindFd, dir);
  try {
    // Folders first (parents before children), then files: a file's folder always exists.
    const folders = new Set<string>();
    for (const e of entries) {
      const parts = e.type === "directory" ? e.segs : e.segs.slice(0, -1);
      for (let i = 1; i <= parts.length; i++) folders.add(parts.slice(0, i).join("/"));
    }
    for (const f of [...folders].sort((a, b) => a.split("/").length - b.split("/").length)) {
      const slash = f.lastIndexOf("/");
      const parent = slash < 0 ? top : openDirBeneath(top, f.slice(0, slash));
      try {
        fs.mkdirSync(fdPath(parent, f.slice(slash + 1)), { mode: 0o755 });
      } finally {
        if (parent !== top) fs.closeSync(parent);
      }
    }
    for (const e of entries) {
      if (e.type !== "file") continue;
      const parentRel = e.segs.slice(0, -1).join("/");
      const parent = parentRel ? openDirBeneath(top, parentRel) : top;
      try {
        const fd = fs.openSync(fdPath(parent, e.segs[e.segs.length - 1]!), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, e.executable ? 0o755 : 0o644);
        try {
          fs.writeSync(fd, e.data);
          fs.fchmodSync(fd, e.executable ? 0o755 : 0o644);
        } finally {
          fs.closeSync(fd);
        }
      } finally {
        if (parent !== top) fs.closeSync(parent);
      }
    }
  } finally {
    fs.closeSync(top);
  }
}

/** Removes the gateway's folder `dir` of the kind folder at `kindPath` in the background (its own descriptor). */
export function discard(kindFd: number, dir: string, onError: (err: unknown) => void): Promise<void> {
  const fd = fs.openSync(fdPath(kindFd), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  return removeTree(fd, dir)
    .then(
      () => {},
      onError,
    )
    .finally(() => fs.closeSync(fd));
}
