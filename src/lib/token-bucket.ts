// Token buckets per key (a tenant): `burst` at once, then `perMinute` refilled evenly. In memory
// only, and bounded: a bucket that has refilled completely says nothing a new one would not, so it
// is dropped. Time is passed in (the caller's clock).

export interface BucketLimits {
  perMinute: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_KEYS = 100_000;

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  /** Takes `n` tokens (one by default) for `key`: null when granted, else the seconds until they are there. */
  take(key: string, now: number, limits: BucketLimits, n = 1): number | null {
    const b = this.refilled(key, now, limits);
    if (b.tokens >= n) {
      b.tokens -= n;
      this.buckets.set(key, b);
      if (this.buckets.size > MAX_KEYS) this.sweep(now, limits);
      return null;
    }
    this.buckets.set(key, b);
    const perMs = limits.perMinute / 60_000;
    return Math.max(1, Math.ceil((n - b.tokens) / perMs / 1000));
  }

  private refilled(key: string, now: number, limits: BucketLimits): Bucket {
    const b = this.buckets.get(key);
    if (!b) return { tokens: limits.burst, at: now };
    const elapsed = Math.max(0, now - b.at);
    return { tokens: Math.min(limits.burst, b.tokens + (elapsed * limits.perMinute) / 60_000), at: now };
  }

  private sweep(now: number, limits: BucketLimits): void {
    for (const [k, b] of this.buckets) if (this.refilled(k, now, limits).tokens >= limits.burst) this.buckets.delete(k);
    // Still full (a flood of distinct keys, each holding a partly used bucket): the oldest go first.
    for (const k of this.buckets.keys()) {
      if (this.buckets.size <= MAX_KEYS * 0.9) break;
      this.buckets.delete(k);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}
