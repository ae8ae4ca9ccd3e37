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

/**
 * Polls the file and calls `onLine` for each new complete line until `signal` aborts. Like tail -F it
 * keeps the open descriptor across a rename, drains what was written to the old file, then moves on.
 */
export async function followLines(file: string, onLine: (line: string) => void, signal: AbortSignal, intervalMs = 250): Promise<void> {
  let fd: number | null = null;
  let ino = -1;
  let offset = 0;
  let partial = "";
  const open = (fromEnd: boolean) => {
    try {
      fd = fs.openSync(file, "r");
    } catch {
      fd = null;
      return;
    }
    const st = fs.fstatSync(fd);
    ino = st.ino;
    offset = fromEnd ? st.size : 0;
    partial = "";
  };
  const drain = () => {
    if (fd === null) return;
    const size = fs.fstatSync(fd).size;
    if (size < offset) {
      offset = 0; // truncated in place (copytruncate)
      partial = "";
    }
    if (size === offset) return;
    const buf = Buffer.alloc(size - offset);
    fs.readSync(fd, buf, 0, buf.length, offset);
    offset = size;
    const lines = (partial + buf.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    for (const l of lines) if (l) onLine(l);
  };
  open(true);
  try {
    while (!signal.aborted) {
      drain();
      let current: number | null = null;
      try {
        current = fs.statSync(file).ino;
      } catch {
        current = null;
      }
      if (current !== null && current !== ino) {
        drain();
        if (fd !== null) fs.closeSync(fd);
        open(false);
        drain();
      }
      await Bun.sleep(intervalMs);
    }
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}
