// Walking a tenant's tree, which a sandbox shapes as it likes: a chain of 30,000 nested directories
// takes it a third of a second. So every walk of a tenant's directory (disk measurement, backup,
// removal: ./tree-remove.ts) is iterative — an explicit stack, no recursion to overflow — holds at
// most one directory descriptor per level, never builds a path to open longer than one name (each
// step is relative to a directory descriptor), and stops loudly at a depth limit instead of
// truncating what it reports. Long walks give the event loop a turn (timeSlicer).
import fs from "node:fs";
import { DIR_NOFOLLOW, fdPath } from "./confined-dir.ts";

/**
 * The deepest a directory may sit below its tenant's directory (tenants/<id>/ is level 0, its
 * workspace level 1). `files.write` refuses to create deeper ones, a run that makes them is killed by
 * the disk watchdog (the tenant counts as over its limit until it deletes them), and a backup of such
 * a tree is refused. Removal copes with any depth.
 */
export const MAX_TREE_DEPTH = 256;

/** A directory nested deeper than the walk allows; `rel` is where (relative to the walk's root). */
export class TreeTooDeep extends Error {
  constructor(
    readonly rel: string,
    readonly maxDepth: number,
  ) {
    super(`a directory is nested more than ${maxDepth} levels deep (${JSON.stringify(rel.length > 200 ? `${rel.slice(0, 200)}…` : rel)})`);
  }
}

export interface WalkEntry {
  /** The directory holding the entry (open for the duration of the step). */
  dirFd: number;
  name: string;
  /** Path relative to the walk's root (for messages and archives; never opened as one path). */
  rel: string;
  /** 1 for the root's own entries. */
  depth: number;
  st: fs.Stats;
}

export interface WalkOptions {
  maxDepth: number;
  /** Names in sorted order (a stable archive); otherwise directory order (a huge directory costs no memory). */
  sorted?: boolean;
  /** lstat of a name (default: plain lstat; undefined when it is gone). */
  lstat?(dirFd: number, name: string, rel: string): fs.Stats | undefined;
  /** Opens a directory entry to descend into; null skips it (gone, or swapped for something else). */
  open?(dirFd: number, name: string, rel: string): number | null;
  /** Whether to descend into this directory entry (default: every directory). */
  descend?(e: WalkEntry): boolean;
}

function defaultOpen(dirFd: number, name: string): number | null {
  try {
    return fs.openSync(fdPath(dirFd, name), DIR_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Gone, or swapped for a link or a file since the lstat: nothing to walk there.
    if (code === "ENOENT" || code === "ELOOP" || code === "ENOTDIR") return null;
    throw err;
  }
}

interface Frame {
  fd: number;
  names: string[] | null;
  dir: fs.Dir | null;
  i: number;
  rel: string;
  depth: number;
}

/**
 * Every entry under the directory open as `rootFd`, depth first, each yielded before its children.
 * A directory deeper than `maxDepth` throws TreeTooDeep when it is met (it is not yielded). The root
 * descriptor stays the caller's; those of the levels below are closed here, also on a throw or when
 * the caller stops iterating.
 */
export function* walkTree(rootFd: number, opts: WalkOptions): Generator<WalkEntry, void, undefined> {
  const lstat = opts.lstat ?? ((fd: number, name: string) => fs.lstatSync(fdPath(fd, name), { throwIfNoEntry: false }));
  const open = opts.open ?? defaultOpen;
  const frame = (fd: number, rel: string, depth: number): Frame =>
    opts.sorted ? { fd, names: fs.readdirSync(fdPath(fd)).sort(), dir: null, i: 0, rel, depth } : { fd, names: null, dir: fs.opendirSync(fdPath(fd)), i: 0, rel, depth };
  const release = (f: Frame) => {
    f.dir?.closeSync();
    f.dir = null;
    if (f.fd !== rootFd) fs.closeSync(f.fd);
  };
  const stack: Frame[] = [];
  try {
    stack.push(frame(rootFd, "", 0));
    while (stack.length > 0) {
      const f = stack[stack.length - 1]!;
      const name = f.names ? f.names[f.i++] : f.dir!.readSync()?.name;
      if (name === undefined) {
        stack.pop();
        release(f);
        continue;
      }
      const rel = f.rel ? `${f.rel}/${name}` : name;
      const st = lstat(f.fd, name, rel);
      if (!st) continue; // removed meanwhile
      const depth = f.depth + 1;
      if (st.isDirectory() && depth > opts.maxDepth) throw new TreeTooDeep(rel, opts.maxDepth);
      const e: WalkEntry = { dirFd: f.fd, name, rel, depth, st };
      yield e;
      if (!st.isDirectory() || (opts.descend && !opts.descend(e))) continue;
      const child = open(f.fd, name, rel);
      if (child === null) continue;
      try {
        stack.push(frame(child, rel, depth));
      } catch (err) {
        fs.closeSync(child);
        throw err;
      }
    }
  } finally {
    for (const f of stack) release(f);
  }
}

/**
 * Gives the event loop a turn every `sliceMs` of work: for a long walk on the main thread. Returns
 * null while the slice lasts, else a promise to await.
 */
export function timeSlicer(sliceMs = 8): () => Promise<void> | null {
  let since = performance.now();
  return () => {
    if (performance.now() - since < sliceMs) return null;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        since = performance.now();
        resolve();
      }),
    );
  };
}

/** The kernel's PATH_MAX is 4096 bytes; a path is opened in pieces shorter than this. */
const PIECE_BYTES = 3072;

/**
 * Opens `rel` (slash-separated, already checked) beneath `rootFd` with `open`, in pieces short enough
 * for the kernel: a tree 256 levels deep with long names has paths far longer than PATH_MAX. Each
 * piece but the last is opened as a directory relative to the one before; `open` decides the
 * confinement (openat2 beneath, no links) of every piece.
 */
export function openInPieces(rootFd: number, rel: string, flags: number, open: (dirFd: number, rel: string, flags: number) => number): number {
  if (Buffer.byteLength(rel) < PIECE_BYTES) return open(rootFd, rel, flags);
  const segs = rel.split("/");
  let fd = rootFd;
  let start = 0;
  try {
    while (true) {
      let end = start;
      let bytes = 0;
      while (end < segs.length && (end === start || bytes + Buffer.byteLength(segs[end]!) + 1 < PIECE_BYTES)) bytes += Buffer.byteLength(segs[end++]!) + 1;
      const last = end >= segs.length;
      const next = open(fd, segs.slice(start, end).join("/"), last ? flags : DIR_NOFOLLOW);
      if (fd !== rootFd) fs.closeSync(fd);
      fd = next;
      if (last) return fd;
      start = end;
    }
  } catch (err) {
    if (fd !== rootFd) fs.closeSync(fd);
    throw err;
  }
}
