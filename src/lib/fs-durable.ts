// Durable file operations: write-temp-fsync-rename-fsync(dir), so a crash leaves the old or the new
// file, never a torn one, and the directory entry itself survives power loss.
import fs from "node:fs";
import path from "node:path";

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o600): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
  try {
    fs.writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dir);
}

/** Creates a directory (and parents) with mode 0700, tightening an existing one that is looser. */
export function ensurePrivateDir(dir: string): { created: boolean; tightened: boolean } {
  let created = false;
  let tightened = false;
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    created = true;
  }
  const st = fs.statSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} exists and is not a directory`);
  if ((st.mode & 0o077) !== 0) {
    fs.chmodSync(dir, st.mode & 0o700);
    tightened = true;
  }
  return { created, tightened };
}

/**
 * What a file is now, as a string that changes when it is replaced, resized or written (inode, size,
 * mtime), or null when there is none: cheap enough to compare on every request. `nofollow`: a link
 * is described itself, not what it points at.
 */
export function fileStamp(file: string, opts: { nofollow?: boolean } = {}): string | null {
  const st = opts.nofollow ? fs.lstatSync(file, { throwIfNoEntry: false }) : fs.statSync(file, { throwIfNoEntry: false });
  return st ? `${st.ino}:${st.size}:${st.mtimeMs}` : null;
}
