// Failed-authentication throttling. Failures are counted per (client source, presented identity) —
// the tenant a token names, or "admin" on the control plane — and per source. A source is an IPv4
// address, or an IPv6 network (/64 by default: one subscriber's whole allocation, whose 2^64
// addresses would otherwise each be a fresh budget). A key that fails too often inside the window
// is blocked for a while, doubling on each repeat.
//
// A block only ever refuses credentials that fail: the edge verifies first, and a credential that
// verifies is served whatever the throttle says. So failures from one address (a NAT, a proxy not in
// trustedProxies) never lock out the other tenants behind it, nor the tenant that was named: the
// secrets are 128 random bits, and the throttle bounds the cost and the noise of failures, it does
// not make a guessable secret safe. While a key is blocked its failures are answered 429 and are not
// counted again, so a blocked source creates no new keys. Trip records are bounded per source (one a
// window) and in all (gateway.authThrottle.maxAuditRecordsPerWindow a window, all sources together);
// trips past that are counted, and the count is audited as one summary record once the window ends.
import type { Clock } from "../core/clock.ts";
import { sourceNetwork } from "./client-ip.ts";

export interface ThrottleLimits {
  perIpMaxFailures: number;
  perIpTenantMaxFailures: number;
  windowSeconds: number;
  blockSeconds: number;
  maxBlockSeconds: number;
  ipv6PrefixBits: number;
  maxAuditRecordsPerWindow: number;
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
  /** The source it stands for: the address, or the IPv6 network. */
  source: string;
}

export interface ThrottleVerdict {
  blocked: boolean;
  retryAfterSeconds: number;
}

export interface Trip {
  /** The keys that just tripped: "ip" (the address) and/or "ip+identity". */
  tripped: string[];
  blockSeconds: number;
  /** Whether this trip gets an audit record: at most one per source per window, and the global cap. */
  audit: boolean;
  /** Trips of this source since its last audited one that were not audited. */
  unaudited: number;
  /** The source the trip is counted for (the address, or its IPv6 network). */
  source: string;
  /** A past window's trips over the global cap, to audit now as one record (at most once a window). */
  summary?: TripSummary;
}

/** Trips not audited in a past window because the global cap was reached: audited as one record. */
export interface TripSummary {
  unauditedTrips: number;
  sources: number;
  windowStart: number;
  windowEnd: number;
}

const MAX_KEYS = 100_000;
/** Distinct sources counted in one summary: past this the count stays, the set stops growing. */
const MAX_SUMMARY_SOURCES = 10_000;
const NOT_BLOCKED: ThrottleVerdict = Object.freeze({ blocked: false, retryAfterSeconds: 0 });

export class AuthThrottle {
  private readonly buckets = new Map<string, Bucket>();
  /** The global audit window: records written in it, and trips (and sources) left unaudited. */
  private readonly global = { start: -Infinity, audited: 0, unaudited: 0, sources: new Set<string>() };

  constructor(
    private limits: () => ThrottleLimits,
    private readonly clock: Clock,
  ) {}

  /** Is a failing credential from this address, presenting this identity, to be answered 429? */
  check(ip: string, identity: string): ThrottleVerdict {
    if (this.buckets.size === 0) return NOT_BLOCKED; // the common case: nobody has failed recently
    const now = this.clock.now();
    const src = this.sourceOf(ip);
    const until = Math.max(this.buckets.get(sourceKey(src))?.blockedUntil ?? 0, this.buckets.get(pairKey(src, identity))?.blockedUntil ?? 0);
    return until > now ? { blocked: true, retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)) } : NOT_BLOCKED;
  }

  /** Counts a failure of (address, identity); reports what tripped and whether to audit it. */
  fail(ip: string, identity: string): Trip {
    const now = this.clock.now();
    const l = this.limits();
    const src = this.sourceOf(ip);
    const tripped: string[] = [];
    let blockSeconds = 0;
    const summary = this.rollWindow(now, l);
    const source = this.bucket(sourceKey(src), now, src) as SourceBucket;
    for (const [key, b, max] of [
      ["ip", source, l.perIpMaxFailures],
      ["ip+identity", this.bucket(pairKey(src, identity), now, null), l.perIpTenantMaxFailures],
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
    if (tripped.length === 0) return { tripped, blockSeconds, audit: false, unaudited: 0, source: src, summary };
    if (now - source.auditedAt < l.windowSeconds * 1000) {
      source.unaudited++;
      return { tripped, blockSeconds, audit: false, unaudited: source.unaudited, source: src, summary };
    }
    if (this.global.audited >= l.maxAuditRecordsPerWindow) {
      // Over the global cap: counted for the window's summary (and for this source's next record).
      source.unaudited++;
      this.global.unaudited++;
      if (this.global.sources.size < MAX_SUMMARY_SOURCES) this.global.sources.add(src);
      return { tripped, blockSeconds, audit: false, unaudited: source.unaudited, source: src, summary };
    }
    this.global.audited++;
    const unaudited = source.unaudited;
    source.auditedAt = now;
    source.unaudited = 0;
    return { tripped, blockSeconds, audit: true, unaudited, source: src, summary };
  }

  /** Starts a new global window when the last one has ended; returns its summary if it left trips unaudited. */
  private rollWindow(now: number, l: ThrottleLimits): TripSummary | undefined {
    const g = this.global;
    const windowMs = l.windowSeconds * 1000;
    if (now - g.start < windowMs) return undefined;
    const summary = g.unaudited > 0 ? { unauditedTrips: g.unaudited, sources: g.sources.size, windowStart: g.start, windowEnd: g.start + windowMs } : undefined;
    g.start = now;
    g.audited = summary ? 1 : 0; // the summary record is this window's first
    g.unaudited = 0;
    g.sources = new Set();
    return summary;
  }

  private sourceOf(ip: string): string {
    return sourceNetwork(ip, this.limits().ipv6PrefixBits);
  }

  /** A success clears the (address, identity) failures, unless that pair is blocked. */
  succeed(ip: string, identity: string): void {
    if (this.buckets.size === 0) return;
    const key = pairKey(this.sourceOf(ip), identity);
    const b = this.buckets.get(key);
    if (b && b.blockedUntil <= this.clock.now()) this.buckets.delete(key);
  }

  private bucket(key: string, now: number, source: string | null): Bucket {
    const found = this.buckets.get(key);
    if (found) return found;
    if (this.buckets.size >= MAX_KEYS) this.evict(now);
    const b: Bucket = { failures: 0, windowStart: now, blockedUntil: 0, strikes: 0, lastSeen: now };
    const created: Bucket | SourceBucket = source !== null ? { ...b, auditedAt: -Infinity, unaudited: 0, source } : b;
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

const sourceKey = (source: string) => `ip|${source}`;
const pairKey = (source: string, identity: string) => `ipi|${source}|${identity}`;
