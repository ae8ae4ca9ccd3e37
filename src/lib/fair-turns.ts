// Fair turns at a resource whose callers are refused (RATE_LIMITED, Retry-After) rather than queued:
// whoever was refused first goes first once it frees, and everyone else is refused meanwhile — also
// the one that held it, so nobody keeps it by asking again the moment its turn ends. A refused
// caller keeps its place while it keeps asking; one that stops asking loses it after `ttlMs`, so a
// caller that walks away delays the others by that long at most. Nothing is held for a waiting
// caller (no open request, no timer).

export interface Turns {
  /** Whether `key` may go now as far as the line is concerned: nobody who asked before it is still waiting. */
  isFirst(key: string): boolean;
  /** `key` was refused: it joins the line (or keeps its place). */
  refused(key: string): void;
  /** `key` got the resource: it leaves the line. */
  served(key: string): void;
  /** Callers waiting now, first first. */
  waiting(): string[];
}

export function createTurns(opts: { ttlMs: number; now?: () => number }): Turns {
  const now = opts.now ?? Date.now;
  // Order is by arrival (a counter), not by time: two callers refused in the same millisecond are
  // still one before the other.
  const line = new Map<string, { order: number; last: number }>();
  let arrivals = 0;

  function prune(t: number): void {
    for (const [k, w] of line) if (t - w.last > opts.ttlMs) line.delete(k);
  }

  return {
    isFirst(key) {
      prune(now());
      const mine = line.get(key);
      for (const [k, w] of line) if (k !== key && (!mine || w.order < mine.order)) return false;
      return true;
    },
    refused(key) {
      const t = now();
      prune(t);
      const w = line.get(key);
      if (w) w.last = t;
      else line.set(key, { order: arrivals++, last: t });
    },
    served(key) {
      line.delete(key);
    },
    waiting() {
      prune(now());
      return [...line.entries()].sort((a, b) => a[1].order - b[1].order).map(([k]) => k);
    },
  };
}
