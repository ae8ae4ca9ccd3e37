// Measures a tenant's directory: allocated bytes (st_blocks, so sparse files count what they hold and
// preallocated ones count in full) and names (files, directories, links — every name counts, so hard
// links cannot multiply entries for free). The walk is bounded: it stops as soon as a cap is passed
// (the tenant is over its limit then, whatever the rest holds), at a depth cap, and at another
// filesystem. Every step is taken relative to an open directory descriptor with O_NOFOLLOW, so a
// sandbox swapping a directory for a symlink mid-walk can make the walk skip a name, never leave
// the tree. Runs on the disk worker thread (disk-usage.worker.ts), or inline when a caller must
// answer synchronously.
import fs from "node:fs";
import { DIR_NOFOLLOW, fdPath, lstatAt } from "../../lib/confined-dir.ts";
import { MAX_TREE_DEPTH, TreeTooDeep, walkTree } from "../../lib/tree-walk.ts";
import { workerSpecifier } from "../../lib/worker.ts";

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = fs.constants;
/** Linux O_PATH (x86_64 and aarch64): a descriptor that names an inode without opening it. */
const O_PATH = 0o10000000;

/** The walk stops (the tenant is over its limit) at the depth every tenant tree is held to. */
export const MAX_DEPTH = MAX_TREE_DEPTH;

export interface TreeCaps {
  /** Stop once more than this many bytes are counted. */
  maxBytes: number;
  /** Stop once more than this many names are counted. */
  maxEntries: number;
  maxDepth?: number;
}

export interface TreeUsage {
  bytes: number;
  entries: number;
  /** Why the walk stopped early (the figures are then a lower bound, and already over a cap). */
  stoppedBy: "bytes" | "entries" | "depth" | "unreadable" | null;
  /** A safe description of what stopped it, relative to the tree (for "depth" and "unreadable"). */
  detail: string | null;
  ms: number;
}

class Stop extends Error {
  constructor(
    readonly reason: "bytes" | "entries" | "depth" | "unreadable",
    readonly detail: string | null = null,
  ) {
    super(reason);
  }
}


/**
 * Makes a directory of ours readable again. A sandbox runs as the gateway's own uid when the gateway
 * is not root, and could `chmod 000` a directory to hide what it holds from a non-root walk. The
 * directory is pinned with O_PATH|O_NOFOLLOW first, so a swapped-in symlink is never chmod-ed through.
 */
function reopenReadable(parentFd: number, name: string): number | null {
  let p: number;
  try {
    p = fs.openSync(fdPath(parentFd, name), O_PATH | O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const st = fs.fstatSync(p);
    if (!st.isDirectory() || (typeof process.getuid === "function" && st.uid !== process.getuid())) return null;
    fs.chmodSync(fdPath(p), (st.mode & 0o7777) | 0o700);
    // Through the pinned descriptor's own /proc link (O_NOFOLLOW would refuse that link itself).
    return fs.openSync(fdPath(p), O_RDONLY | O_DIRECTORY);
  } catch {
    return null;
  } finally {
    fs.closeSync(p);
  }
}

/** lstat of a name in a directory; a directory without search permission (ours) is given it back. */
function lstatIn(fd: number, name: string, rel: string): fs.Stats | undefined {
  try {
    return lstatAt(fd, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EACCES") throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (typeof process.getuid === "function" && st.uid !== process.getuid()) throw new Error("not ours");
    fs.fchmodSync(fd, (st.mode & 0o7777) | 0o700);
    return lstatAt(fd, name);
  } catch {
    throw new Stop("unreadable", rel || ".");
  }
}

export function measureTree(root: string, caps: TreeCaps): TreeUsage {
  const started = performance.now();
  const maxDepth = caps.maxDepth ?? MAX_DEPTH;
  let bytes = 0;
  let entries = 0;
  const linked = new Set<string>();
  let rootFd: number;
  try {
    rootFd = fs.openSync(root, DIR_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { bytes: 0, entries: 0, stoppedBy: null, detail: null, ms: 0 };
    throw err;
  }
  const rootSt = fs.fstatSync(rootFd);
  bytes += rootSt.blocks * 512;

  const open = (fd: number, name: string, rel: string): number | null => {
    try {
      return fs.openSync(fdPath(fd, name), DIR_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Gone, or swapped for a link or a file since the lstat: nothing of ours to count there.
      if (code === "ENOENT" || code === "ELOOP" || code === "ENOTDIR") return null;
      const child = code === "EACCES" ? reopenReadable(fd, name) : null;
      if (child === null) throw new Stop("unreadable", rel);
      return child;
    }
  };

  let stoppedBy: TreeUsage["stoppedBy"] = null;
  let detail: string | null = null;
  try {
    // Iterative, one descriptor per level, depth-bounded (lib/tree-walk.ts): a tree a sandbox made
    // thousands of levels deep stops the walk at the limit (the tenant is over it), never the stack.
    const walk = walkTree(rootFd, { maxDepth, lstat: lstatIn, open, descend: (e) => e.st.dev === rootSt.dev });
    for (const { st } of walk) {
      entries++;
      if (st.isDirectory() || st.nlink <= 1) bytes += st.blocks * 512;
      else {
        const key = `${st.dev}:${st.ino}`;
        if (!linked.has(key)) {
          linked.add(key);
          bytes += st.blocks * 512;
        }
      }
      if (entries > caps.maxEntries) throw new Stop("entries");
      if (bytes > caps.maxBytes) throw new Stop("bytes");
    }
  } catch (err) {
    if (err instanceof TreeTooDeep) {
      stoppedBy = "depth";
      detail = err.rel;
    } else if (err instanceof Stop) {
      stoppedBy = err.reason;
      detail = err.detail;
    } else if ((err as NodeJS.ErrnoException).code === "EACCES") {
      stoppedBy = "unreadable";
      detail = ".";
    } else throw err;
  } finally {
    fs.closeSync(rootFd);
  }
  return { bytes, entries, stoppedBy, detail, ms: Math.round(performance.now() - started) };
}

/** The disk worker thread (disk-usage.worker.ts): walks queued one at a time, off the main thread. */
export class DiskWorker {
  private worker: Worker | null = null;
  private seq = 0;
  private readonly pending = new Map<number, { resolve(u: TreeUsage): void; reject(e: Error): void }>();

  constructor(private readonly onError: (message: string) => void) {}

  walk(root: string, caps: TreeCaps): Promise<TreeUsage> {
    const w = this.worker ?? this.start();
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, root, caps });
    });
  }

  private start(): Worker {
    const w = new Worker(workerSpecifier("modules/disk/disk-usage.worker.ts"));
    w.unref();
    w.addEventListener("message", (ev: MessageEvent<{ id: number; usage?: TreeUsage; error?: string }>) => {
      const p = this.pending.get(ev.data.id);
      this.pending.delete(ev.data.id);
      if (ev.data.usage) p?.resolve(ev.data.usage);
      else p?.reject(new Error(ev.data.error ?? "measurement failed"));
    });
    w.addEventListener("error", (e) => {
      this.onError(String(e.message));
      for (const p of this.pending.values()) p.reject(new Error("the disk worker failed"));
      this.pending.clear();
      this.worker = null;
    });
    return (this.worker = w);
  }

  close(): void {
    this.worker?.terminate();
    this.worker = null;
  }
}
