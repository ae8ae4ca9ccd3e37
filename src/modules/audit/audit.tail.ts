// `audit tail`: the last N lines of the live log, and `--follow` across rotations (move or truncate).
import fs from "node:fs";

export function lastLines(file: string, n: number): string[] {
  if (!fs.existsSync(file) || n <= 0) return [];
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, "r");
  try {
    let chunk = 64 * 1024;
    for (;;) {
      const start = Math.max(0, size - chunk);
      const buf = Buffer.alloc(size - start);
      fs.readSync(fd, buf, 0, buf.length, start);
      const lines = buf.toString("utf8").split("\n").filter(Boolean);
      if (start === 0 || lines.length > n) return lines.slice(-n);
      chunk *= 4;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Polls the file and calls `onLine` for each new complete line until `signal` aborts. */
export async function followLines(file: string, onLine: (line: string) => void, signal: AbortSignal, intervalMs = 250): Promise<void> {
  let ino = -1;
  let offset = 0;
  let partial = "";
  if (fs.existsSync(file)) {
    const st = fs.statSync(file);
    ino = st.ino;
    offset = st.size;
  }
  while (!signal.aborted) {
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(file);
    } catch {
      st = null;
    }
    if (st) {
      if (st.ino !== ino || st.size < offset) {
        // Rotated away (new inode) or truncated: start at the beginning of what is there now.
        ino = st.ino;
        offset = 0;
        partial = "";
      }
      if (st.size > offset) {
        const fd = fs.openSync(file, "r");
        try {
          const buf = Buffer.alloc(st.size - offset);
          fs.readSync(fd, buf, 0, buf.length, offset);
          offset = st.size;
          const text = partial + buf.toString("utf8");
          const lines = text.split("\n");
          partial = lines.pop() ?? "";
          for (const l of lines) if (l) onLine(l);
        } finally {
          fs.closeSync(fd);
        }
      }
    }
    await Bun.sleep(intervalMs);
  }
}
