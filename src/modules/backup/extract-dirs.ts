// Directories of a restore's extraction, created and opened one name at a time relative to the
// extraction directory's descriptor: an archive's paths may be longer than the kernel takes in one
// call (256 levels of long names), and no step may follow a link. The last directory used stays
// open, so a tar stream's usual order (a directory, then what is in it) costs one step per entry.
import fs from "node:fs";
import { DIR_NOFOLLOW as DIR_FLAGS, fdPath } from "../../lib/confined-dir.ts";

export class ExtractDirs {
  private cached: { segs: string[]; fd: number } | null = null;
  readonly rootFd: number;

  /** `refuse` makes the error for a path component that is not a directory. */
  constructor(
    root: string,
    private readonly refuse: (key: string) => Error,
  ) {
    this.rootFd = fs.openSync(root, DIR_FLAGS);
  }

  /** A descriptor of the directory `segs` (created, 0700, where missing); valid until the next call. */
  ensure(segs: string[]): number {
    if (segs.length === 0) return this.rootFd;
    const c = this.cached;
    if (c && c.segs.length === segs.length && c.segs.every((s, i) => s === segs[i])) return c.fd;
    const fromCache = c !== null && c.segs.length < segs.length && c.segs.every((s, i) => s === segs[i]);
    let fd = fromCache ? c!.fd : this.rootFd;
    try {
      for (let i = fromCache ? c!.segs.length : 0; i < segs.length; i++) {
        const next = this.step(fd, segs[i]!, segs.slice(0, i + 1).join("/"));
        if (fd !== this.rootFd && fd !== c?.fd) fs.closeSync(fd);
        fd = next;
      }
    } catch (err) {
      if (fd !== this.rootFd && fd !== c?.fd) fs.closeSync(fd);
      throw err;
    }
    if (c) fs.closeSync(c.fd);
    this.cached = { segs: [...segs], fd };
    return fd;
  }

  private step(dirFd: number, name: string, key: string): number {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        return fs.openSync(fdPath(dirFd, name), DIR_FLAGS);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOTDIR" || code === "ELOOP") throw this.refuse(key);
        if (code !== "ENOENT" || attempt > 0) throw err;
      }
      fs.mkdirSync(fdPath(dirFd, name), { mode: 0o700 });
    }
    throw this.refuse(key);
  }

  close(): void {
    if (this.cached) fs.closeSync(this.cached.fd);
    this.cached = null;
    fs.closeSync(this.rootFd);
  }
}
