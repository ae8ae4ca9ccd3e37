// Injectable one-shot timers, the companion of core/clock.ts: code that sleeps until a time (the cron
// scheduler) takes a Timers, so tests drive it by hand with a ManualClock instead of sleeping.

export interface Timers {
  /** Calls `fn` once after `ms` (by this Timers' clock); the returned function cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

/** Real timers. Unref'd: a pending timer alone never keeps the process alive. */
export const systemTimers: Timers = {
  setTimer(fn, ms) {
    // setTimeout takes at most 2^31-1 ms; a later wake re-arms from there.
    const t = setTimeout(fn, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    t.unref?.();
    return () => clearTimeout(t);
  },
};

/**
 * Timers a test fires by hand: `fireDue()` runs every timer due at the clock's time (the clock is the
 * test's ManualClock, advanced by the test). Nothing runs by itself.
 */
export class ManualTimers implements Timers {
  private pending = new Set<{ at: number; fn: () => void }>();
  constructor(private clock: { now(): number }) {}
  setTimer(fn: () => void, ms: number): () => void {
    const entry = { at: this.clock.now() + Math.max(0, ms), fn };
    this.pending.add(entry);
    return () => void this.pending.delete(entry);
  }
  /** Runs the timers due now (earliest first); returns how many ran. */
  fireDue(): number {
    const due = [...this.pending].filter((e) => e.at <= this.clock.now()).sort((a, b) => a.at - b.at);
    for (const e of due) {
      this.pending.delete(e);
      e.fn();
    }
    return due.length;
  }
  /** When the earliest pending timer is due, or null. */
  nextAt(): number | null {
    let min: number | null = null;
    for (const e of this.pending) if (min === null || e.at < min) min = e.at;
    return min;
  }
  get size(): number {
    return this.pending.size;
  }
}
