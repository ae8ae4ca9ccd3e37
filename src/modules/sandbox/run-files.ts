// A docker run's private files in <home>/run, which hold the tenant's variables. The `--env-file` has
// no name at all: it is an O_TMPFILE (or, where the filesystem lacks those, a file unlinked right
// after it is opened) handed to the docker CLI as a descriptor (`--env-file /dev/fd/3`), so a gateway
// that dies mid-run leaves nothing behind. The env script a run with mount checks binds into the
// container needs a path for dockerd: it is named `<pid>-<run>.env.sh`, removed after the run, and
// whatever a dead process left is removed when the next one starts (sweepRunFiles).
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "../../core/logger.ts";
import { processAlive } from "../../lib/pid.ts";

/** O_TMPFILE (Linux): __O_TMPFILE | O_DIRECTORY, the same value on x86_64 and aarch64. */
const O_TMPFILE = 0o20000000 | fs.constants.O_DIRECTORY;

/** A nameless 0600 file in `dir` holding `text`, open for reading; the caller closes it. */
export function openNamelessFile(dir: string, runId: string, text: string): number {
  let fd: number;
  try {
    fd = fs.openSync(dir, O_TMPFILE | fs.constants.O_RDWR, 0o600);
  } catch {
    // No O_TMPFILE here: a name for as long as it takes to open it (a crash in between: sweepRunFiles).
    const p = path.join(dir, `${process.pid}-${runId}.env`);
    fd = fs.openSync(p, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    fs.unlinkSync(p);
  }
  try {
    const bytes = Buffer.from(text);
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off, off);
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** Where a run's env script (bound into its container) lives while the run does. */
export function envScriptFile(dir: string, runId: string): string {
  return path.join(dir, `${process.pid}-${runId}.env.sh`);
}

/**
 * Removes the variables files that processes which died mid-run left in `dir` (and those of gateways
 * before pid-named files, `<run>.env` and `<run>.env.sh`). Returns how many went.
 */
export function sweepRunFiles(dir: string, log: Logger): number {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const m = /^(?:(\d+)-)?[A-Za-z0-9]+\.env(?:\.sh)?$/.exec(name);
    if (!m) continue;
    const pid = m[1] ? Number(m[1]) : null;
    if (pid !== null && (pid === process.pid || processAlive(pid))) continue;
    try {
      fs.rmSync(path.join(dir, name), { force: true });
      removed++;
    } catch (err) {
      log.warn("could not remove a sandbox run's leftover variables file", { file: name, error: String(err) });
    }
  }
  if (removed > 0) log.info(`removed ${removed} sandbox variables file(s) left by a process that ended mid-run`);
  return removed;
}
