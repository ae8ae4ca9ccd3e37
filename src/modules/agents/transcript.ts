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
