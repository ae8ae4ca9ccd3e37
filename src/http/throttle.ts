// Failed-authentication throttling. Failures are counted per (client address, presented identity) —
// the tenant a token names, or "admin" on the control plane — and per address. A key that fails too
// often inside the window is blocked for a while, doubling on each repeat.
//
// A block only ever refuses credentials that fail: the edge verifies first, and a credential that
// verifies is served whatever the throttle says. So failures from one address (a NAT, a proxy not in
// trustedProxies) never lock out the other tenants behind it, nor the tenant that was named: the
// secrets are 128 random bits, and the throttle bounds the cost and the noise of failures, it does
// not make a guessable secret safe. While a key is blocked its failures are answered 429 and are not
// counted again, so a blocked source creates no new keys. Trip records are bounded per source.
import type { Clock } from "../core/clock.ts";

export interface ThrottleLimits {
  perIpMaxFailures: number;
  perIpTenantMaxFailures: number;
  windowSeconds: number;
  blockSeconds: number;
  maxBlockSeconds: number;
}

interface Bucket {
  failures: number;
  windowStart: number;
  blockedUntil: number;
  strikes: number;
  lastSeen: number;
}

interface SourceBucket extends Bucket {
  /** When this source's last trip was audited, and how many trips went unaudited since. */
  auditedAt: number;
  unaudited: number;
}

export interface ThrottleVerdict {
  blocked: boolean;
  retryAfterSeconds: number;
}

export interface Trip {
  /** The keys that just tripped: "ip" (the address) and/or "ip+identity". */
  tripped: string[];
  blockSeconds: number;
  /** Whether this trip gets an audit record: at most one per source per window. */
  audit: boolean;
  /** Trips of this source since its last audited one that were not audited. */
  unaudited: number;
}

const MAX_KEYS = 100_000;
const NOT_BLOCKED: ThrottleVerdict = Object.freeze({ blocked: false, retryAfterSeconds: 0 });

export class AuthThrottle {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private limits: () => ThrottleLimits,
    private readonly clock: Clock,
  ) {}

  /** Is a failing credential from this address, presenting this identity, to be answered 429? */
  check(ip: string, identity: string): ThrottleVerdict {
    if (this.buckets.size === 0) return NOT_BLOCKED; // the common case: nobody has failed recently
    const now = this.clock.now();
    const until = Math.max(this.buckets.get(sourceKey(ip))?.blockedUntil ?? 0, this.buckets.get(pairKey(ip, identity))?.blockedUntil ?? 0);
    return until > now ? { blocked: true, retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)) } : NOT_BLOCKED;
  }

  /** Counts a failure of (address, identity); reports what tripped and whether to audit it. */
  fail(ip: string, identity: string): Trip {
    const now = this.clock.now();
    const l = this.limits();
    const tripped: string[] = [];
    let blockSeconds = 0;
    const source = this.bucket(sourceKey(ip), now, true) as SourceBucket;
    for (const [key, b, max] of [
      ["ip", source, l.perIpMaxFailures],
      ["ip+identity", this.bucket(pairKey(ip, identity), now, false), l.perIpTenantMaxFailures],
    ] as const) {
      if (now - b.windowStart > l.windowSeconds * 1000) {
        b.failures = 0;
        b.windowStart = now;
      }
      b.failures++;
      b.lastSeen = now;
      if (b.failures >= max && b.blockedUntil <= now) {
        const secs = Math.min(l.blockSeconds * 2 ** b.strikes, l.maxBlockSeconds);
        b.blockedUntil = now + secs * 1000;
        b.strikes++;
        b.failures = 0;
        b.windowStart = now;
        tripped.push(key);
        blockSeconds = Math.max(blockSeconds, secs);
      }
    }
    if (tripped.length === 0) return { tripped, blockSeconds, audit: false, unaudited: 0 };
    if (now - source.auditedAt < l.windowSeconds * 1000) {
      source.unaudited++;
      return { tripped, blockSeconds, audit: false, unaudited: source.unaudited };
    }
    const unaudited = source.unaudited;
    source.auditedAt = now;
    source.unaudited = 0;
    return { tripped, blockSeconds, audit: true, unaudited };
  }

  /** A success clears the (address, identity) failures, unless that pair is blocked. */
  succeed(ip: string, identity: string): void {
    if (this.buckets.size === 0) return;
    const key = pairKey(ip, identity);
    const b = this.buckets.get(key);
    if (b && b.blockedUntil <= this.clock.now()) this.buckets.delete(key);
  }

  private bucket(key: string, now: number, source: boolean): Bucket {
    const found = this.buckets.get(key);
    if (found) return found;
    if (this.buckets.size >= MAX_KEYS) this.evict(now);
    const b: Bucket = { failures: 0, windowStart: now, blockedUntil: 0, strikes: 0, lastSeen: now };
    const created: Bucket | SourceBucket = source ? { ...b, auditedAt: -Infinity, unaudited: 0 } : b;
    this.buckets.set(key, created);
    return created;
  }

  private evict(now: number): void {
    const horizon = now - this.limits().maxBlockSeconds * 1000;
    for (const [k, b] of this.buckets) {
      if (b.blockedUntil <= now && b.lastSeen < horizon) this.buckets.delete(k);
    }
    // Still full: drop the oldest unblocked entries first, then the oldest (insertion order).
    for (const [k, b] of this.buckets) {
      if (this.buckets.size < MAX_KEYS * 0.9) return;
      if (b.blockedUntil <= now) this.buckets.delete(k);
    }
    for (const k of this.buckets.keys()) {
      if (this.buckets.size < MAX_KEYS * 0.9) break;
      this.buckets.delete(k);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}

const sourceKey = (ip: string) => `ip|${ip}`;
const pairKey = (ip: string, identity: string) => `ipi|${ip}|${identity}`;
