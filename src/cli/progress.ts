// A one-line progress display on a terminal: bytes done, rate, and time left when the total is known.
// Silent when stderr is not a terminal (or with --json), so scripts and logs get no control codes.

function size(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function duration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export function progressLine(label: string, done: number, total: number | null, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
  const parts = [`${label}: ${size(done)}${total ? ` of ${size(total)}` : ""}`, `${size(rate)}/s`];
  if (total && rate > 0) parts.push(`${duration(Math.max(0, total - done) / rate)} left`);
  return parts.join(" · ");
}

/** `enabled`: a terminal, and not --json. `write` puts text on that terminal (stderr). */
export function terminalProgress(label: string, enabled: boolean, write: (text: string) => void): { update(done: number, total: number | null): void; end(): void } {
  const started = performance.now();
  let last = 0;
  let shown = false;
  if (!enabled) return { update() {}, end() {} };
  return {
    update(done, total) {
      const now = performance.now();
      if (now - last < 200) return;
      last = now;
      shown = true;
      write(`\r\x1b[2K${progressLine(label, done, total, now - started)}`);
    },
    end() {
      if (shown) write("\r\x1b[2K");
    },
  };
}
