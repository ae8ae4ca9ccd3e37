// Session transcripts: append-only JSONL files, one per session id, under tenants/<id>/sessions/. The
// file name is the gateway's session id (never the client's key). Durability: each entry is one
// write(2) of a whole line with no fsync (a process crash loses nothing once write returned; a power
// loss may lose the last entries), and the file is fsynced, in the background, when a run ends.
import fs from "node:fs";
import path from "node:path";

export type EntryType = "user" | "assistant" | "tool_call" | "tool_result" | "error" | "abort";

export interface TranscriptEntry {
  type: EntryType;
  ts: number;
  runId: string;
  [k: string]: unknown;
}

const SESSION_ID = /^s_[0-9a-f]{32}$/;

export function newSessionId(): string {
  return `s_${crypto.randomUUID().replaceAll("-", "")}`;
}

export function transcriptPath(sessionsDir: string, sessionId: string): string {
  // The id is ours, but it comes back from rows a restore put back: never let it name another file.
  if (!SESSION_ID.test(sessionId)) throw new Error(`malformed session id ${JSON.stringify(sessionId)}`);
  return path.join(sessionsDir, `${sessionId}.jsonl`);
}

/** One entry as the line appended (bytes counted before writing, for the caps). */
export function encodeEntry(entry: TranscriptEntry): Buffer {
  return Buffer.from(`${JSON.stringify(entry)}\n`);
}

/** Appends whole lines; the file is created 0600 on first use (O_NOFOLLOW: a planted link is refused). */
export function appendLine(file: string, line: Buffer): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  try {
    fs.writeSync(fd, line);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync off the event loop (the thread pool): the run's answer does not wait for the disk. */
export async function syncFile(file: string): Promise<void> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Every entry, oldest first; a torn last line (a crash mid-write) is skipped. */
export function readEntries(file: string): TranscriptEntry[] {
  let text: string;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      text = fs.readFileSync(fd, "utf8");
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: TranscriptEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as TranscriptEntry);
    } catch {
      // A line cut by a crash: the rest of the transcript stays readable.
    }
  }
  return out;
}

/**
 * Parsed transcripts, kept between reads. A transcript only grows (a reset starts another file), so a
 * read parses only what was appended since the last one: paging through `sessions.history`, or a
 * turn reading its history, no longer parses the whole file (up to agents.maxTranscriptBytes) on the
 * event loop each time (red team 13, F3: 16 parallel one-entry pages of an 8 MB transcript held the
 * loop 0.7 s). A file replaced (another inode) or shorter is parsed afresh; the least recently read
 * go first past `maxBytes` of transcript held or `maxFiles` files.
 */
export function createTranscriptReader(opts: { maxBytes: number; maxFiles: number }) {
  interface Parsed {
    dev: number;
    ino: number;
    parsedTo: number;
    entries: TranscriptEntry[];
  }
  const cache = new Map<string, Parsed>();
  let held = 0;
  const stats = { bytesParsed: 0 };
  const drop = (file: string) => {
    const c = cache.get(file);
    if (!c) return;
    held -= c.parsedTo;
    cache.delete(file);
  };

  return {
    stats,
    /** Transcripts held parsed now. */
    held: () => cache.size,
    /** Forgets the transcripts under `prefix` (a removed file, or a deleted tenant's directory). */
    forget(prefix: string): void {
      for (const file of [...cache.keys()]) if (file === prefix || file.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`)) drop(file);
    },
    /** The transcript's entries, oldest first (shared: callers must not change them); [] when there is none. */
    read(file: string): readonly TranscriptEntry[] {
      let fd: number;
      try {
        fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") {
          drop(file);
          return [];
        }
        throw err;
      }
      try {
        const st = fs.fstatSync(fd);
        let c = cache.get(file);
        if (c && (c.dev !== st.dev || c.ino !== st.ino || st.size < c.parsedTo)) {
          drop(file);
          c = undefined;
        }
        if (!c) c = { dev: st.dev, ino: st.ino, parsedTo: 0, entries: [] };
        else cache.delete(file); // re-inserted below: the map's order is the reads' order
        if (st.size > c.parsedTo) {
          const buf = Buffer.allocUnsafe(st.size - c.parsedTo);
          const n = fs.readSync(fd, buf, 0, buf.length, c.parsedTo);
          const complete = buf.subarray(0, n).lastIndexOf(10) + 1; // a line still being written waits
          if (complete > 0) {
            for (const line of buf.toString("utf8", 0, complete).split("\n")) {
              if (!line) continue;
              try {
                c.entries.push(Object.freeze(JSON.parse(line)) as TranscriptEntry);
              } catch {
                // A line cut by a crash: the rest of the transcript stays readable.
              }
            }
            c.parsedTo += complete;
            held += complete;
            stats.bytesParsed += complete;
          }
        }
        cache.set(file, c);
        for (const oldest of cache.keys()) {
          if (held <= opts.maxBytes && cache.size <= opts.maxFiles) break;
          if (oldest !== file) drop(oldest);
          else break;
        }
        return c.entries;
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}
