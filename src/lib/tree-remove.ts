// Removes a directory tree of any depth — a tenant's trashed directory, a restore's scratch copy, a
// `files.delete recursive` target — in slices of a few milliseconds with the event loop served in
// between, so that a tree a sandbox made 30,000 levels deep never stalls the gateway. (A worker
// thread was tried first: under Bun 1.4.5 its replies were sometimes never delivered once another
// worker had been terminated, which left a restore waiting forever.) The walk is iterative and holds
// at most WINDOW levels of descriptors: a directory met deeper than that is renamed up into the top
// of the tree being removed (the rename stays inside that tree) and emptied from there later, so no
// depth needs more descriptors, stack or path length. Links are never followed; every step is
// relative to a directory descriptor, so a concurrent swap of a directory for a symlink can only make
// the removal unlink the link.
import fs from "node:fs";
import path from "node:path";
import { DIR_NOFOLLOW, fdPath } from "./confined-dir.ts";
import { timeSlicer } from "./tree-walk.ts";

const { O_NOFOLLOW } = fs.constants;
/** Linux O_PATH: names an inode without opening it (to fix the mode of a directory we own). */
const O_PATH = 0o10000000;
/** Levels of open directories; deeper ones are moved up to the top and removed from there. */
const WINDOW = 64;
/** A directory refilled this often while it is emptied is being written to faster than we remove. */
const MAX_PASSES = 1000;

export class TooManyEntries extends Error {
  constructor(readonly max: number) {
    super(`more than ${max} entries to remove`);
  }
}

const code = (err: unknown) => (err as NodeJS.ErrnoException)?.code;
const ours = (st: fs.Stats) => typeof process.getuid !== "function" || process.getuid() === 0 || st.uid === process.getuid();

/** A directory entry we may not open (mode 000, set by a sandbox running as our uid): give it u+rwx. */
function openOwnDir(dirFd: number, name: string): number | null {
  try {
    return fs.openSync(fdPath(dirFd, name), DIR_NOFOLLOW);
  } catch (err) {
    const c = code(err);
    if (c === "ENOENT" || c === "ELOOP" || c === "ENOTDIR") return null;
    if (c !== "EACCES") throw err;
  }
  const p = fs.openSync(fdPath(dirFd, name), O_PATH | O_NOFOLLOW);
  try {
    const st = fs.fstatSync(p);
    if (!st.isDirectory() || !ours(st)) throw new Error(`cannot open a directory to remove it (EACCES)`);
    fs.chmodSync(fdPath(p), (st.mode & 0o7777) | 0o700);
    return fs.openSync(fdPath(p), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } finally {
    fs.closeSync(p);
  }
}

/** Runs `op` on a name in the directory `dirFd`, giving the directory u+rwx once if it refuses (ours). */
function inDir(dirFd: number, op: () => void): void {
  try {
    op();
  } catch (err) {
    if (code(err) === "ENOENT") return;
    if (code(err) !== "EACCES" && code(err) !== "EPERM") throw err;
    const st = fs.fstatSync(dirFd);
    if (!ours(st) || (st.mode & 0o700) === 0o700) throw err;
    fs.fchmodSync(dirFd, (st.mode & 0o7777) | 0o700);
    try {
      op();
    } catch (again) {
      if (code(again) !== "ENOENT") throw again;
    }
  }
}

interface Frame {
  fd: number;
  dir: fs.Dir | null;
  /** The name in the parent frame's directory (null for the top). */
  name: string | null;
  passes: number;
}

/** An empty directory stays empty when nothing reads past its first entry. */
function isEmpty(fd: number): boolean {
  const d = fs.opendirSync(fdPath(fd));
  try {
    return d.readSync() === null;
  } finally {
    d.closeSync();
  }
}

/**
 * Removes `name` in the directory `parentFd`, and everything beneath it, one entry per step (the
 * generator yields after each). Returns how many entries were removed; throws TooManyEntries past
 * `maxEntries` (what was removed so far stays removed).
 */
export function* removeSteps(parentFd: number, name: string, opts: { maxEntries?: number } = {}): Generator<void, number, undefined> {
  const max = opts.maxEntries ?? Infinity;
  const st = fs.lstatSync(fdPath(parentFd, name), { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) {
    inDir(parentFd, () => fs.unlinkSync(fdPath(parentFd, name)));
    return 1;
  }
  const top = openOwnDir(parentFd, name);
  if (top === null) {
    inDir(parentFd, () => fs.unlinkSync(fdPath(parentFd, name)));
    return 1;
  }
  const topSt = fs.fstatSync(top);
  if (ours(topSt) && (topSt.mode & 0o700) !== 0o700) fs.fchmodSync(top, (topSt.mode & 0o7777) | 0o700);
  let count = 0;
  let hoisted = 0;
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const frames: Frame[] = [{ fd: top, dir: fs.opendirSync(fdPath(top)), name: null, passes: 0 }];
  try {
    while (frames.length > 0) {
      const f = frames[frames.length - 1]!;
      const e = f.dir!.readSync();
      if (e === null) {
        f.dir!.closeSync();
        f.dir = null;
        if (frames.length === 1) {
          // Entries moved up meanwhile (or written by someone else): go round again until it is empty.
          if (isEmpty(top)) break;
          if (++f.passes > MAX_PASSES) throw new Error("the directory kept filling up while it was removed");
          f.dir = fs.opendirSync(fdPath(top));
          continue;
        }
        frames.pop();
        const parent = frames[frames.length - 1]!;
        fs.closeSync(f.fd);
        try {
          inDir(parent.fd, () => fs.rmdirSync(fdPath(parent.fd, f.name!)));
        } catch (err) {
          if (code(err) !== "ENOTEMPTY" || ++f.passes > MAX_PASSES) throw err;
          // Written to meanwhile: empty it again.
          const again = openOwnDir(parent.fd, f.name!);
          if (again !== null) frames.push({ fd: again, dir: fs.opendirSync(fdPath(again)), name: f.name, passes: f.passes });
        }
        continue;
      }
      yield;
      const child = e.name;
      const cst = fs.lstatSync(fdPath(f.fd, child), { throwIfNoEntry: false });
      if (!cst) continue;
      if (++count > max) throw new TooManyEntries(max);
      if (!cst.isDirectory()) {
        inDir(f.fd, () => fs.unlinkSync(fdPath(f.fd, child)));
        continue;
      }
      if (frames.length > WINDOW) {
        // Too deep to hold open: move it up into the top and remove it from there.
        inDir(f.fd, () => fs.renameSync(fdPath(f.fd, child), fdPath(top, `.openclaw-rm-${tag}-${++hoisted}`)));
        continue;
      }
      const fd = openOwnDir(f.fd, child);
      if (fd === null) {
        // Swapped for a link or a file since the lstat: remove that instead.
        inDir(f.fd, () => fs.unlinkSync(fdPath(f.fd, child)));
        continue;
      }
      let dir: fs.Dir;
      try {
        dir = fs.opendirSync(fdPath(fd));
      } catch (err) {
        fs.closeSync(fd);
        throw err;
      }
      frames.push({ fd, dir, name: child, passes: 0 });
    }
  } finally {
    for (const f of frames) {
      f.dir?.closeSync();
      if (f.fd !== top) fs.closeSync(f.fd);
    }
    fs.closeSync(top);
  }
  inDir(parentFd, () => fs.rmdirSync(fdPath(parentFd, name)));
  return count + 1;
}

/** Removes `parentFd`/`name` and everything beneath it in time slices; resolves to the entries removed. */
export async function removeTree(parentFd: number, name: string, opts: { maxEntries?: number; sliceMs?: number; signal?: AbortSignal } = {}): Promise<number> {
  const steps = removeSteps(parentFd, name, opts);
  const pause = timeSlicer(opts.sliceMs ?? 20);
  try {
    while (true) {
      const r = steps.next();
      if (r.done) return r.value;
      const p = pause();
      if (!p) continue;
      await p;
      // Stopped (the process is closing): what is left is finished later (the trash, at the next start).
      if (opts.signal?.aborted) throw new Error("the removal was stopped");
    }
  } finally {
    steps.return(0); // closes its descriptors if it stopped early
  }
}

/** Removes a path of the gateway's own (the trash, a scratch directory) in time slices. */
export async function removePath(dir: string, signal?: AbortSignal): Promise<number> {
  const parent = fs.openSync(path.dirname(dir), DIR_NOFOLLOW);
  try {
    return await removeTree(parent, path.basename(dir), { signal });
  } finally {
    fs.closeSync(parent);
  }
}
