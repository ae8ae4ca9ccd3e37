// A provider's API keys (providers.<p>.keys): each attempt takes one. least-busy picks the key with
// the fewest calls in flight relative to its weight (ties go to the key used least recently, so idle
// traffic still rotates); weighted picks at random in proportion to weight. A key whose last attempt
// failed with 401/403/429 is avoided while others are healthy.

export interface PoolKey {
  name: string;
  apiKey: string;
  weight: number;
}

interface KeyState extends PoolKey {
  inFlight: number;
  lastUsed: number;
  /** Until when the key is avoided (after a 401/403/429 on it). */
  coolUntil: number;
}

export class KeyPool {
  private readonly keys: KeyState[];
  private seq = 0;

  constructor(
    keys: PoolKey[],
    private readonly strategy: "least-busy" | "weighted",
    private readonly now: () => number,
    private readonly random: () => number = Math.random,
  ) {
    this.keys = keys.map((k) => ({ ...k, inFlight: 0, lastUsed: 0, coolUntil: 0 }));
  }

  get size(): number {
    return this.keys.length;
  }

  /** Takes a key (a named one if `pinned`); call the returned release when the attempt ends. */
  acquire(pinned?: string): { key: PoolKey; release: (outcome?: "ok" | "refused") => void } {
    const k = pinned !== undefined ? this.keys.find((x) => x.name === pinned) : this.choose();
    if (!k) throw new Error(`no key named ${pinned}`); // config check guarantees pinned keys exist
    k.inFlight++;
    k.lastUsed = ++this.seq;
    let released = false;
    return {
      key: k,
      release: (outcome) => {
        if (released) return;
        released = true;
        k.inFlight--;
        if (outcome === "refused") k.coolUntil = this.now() + 30_000;
        else if (outcome === "ok") k.coolUntil = 0;
      },
    };
  }

  /** In-flight calls per key name (for tests and diagnostics). */
  inFlight(): Record<string, number> {
    return Object.fromEntries(this.keys.map((k) => [k.name, k.inFlight]));
  }

  private choose(): KeyState {
    const t = this.now();
    const healthy = this.keys.filter((k) => k.coolUntil <= t);
    const from = healthy.length > 0 ? healthy : this.keys;
    if (this.strategy === "weighted") {
      const total = from.reduce((s, k) => s + k.weight, 0);
      let r = this.random() * total;
      for (const k of from) {
        r -= k.weight;
        if (r < 0) return k;
      }
      return from[from.length - 1]!;
    }
    let best = from[0]!;
    for (const k of from) {
      const load = k.inFlight / k.weight;
      const bestLoad = best.inFlight / best.weight;
      if (load < bestLoad || (load === bestLoad && k.lastUsed < best.lastUsed)) best = k;
    }
    return best;
  }
}
