// Failed-authentication throttling, keyed by client IP and by (client IP, tenant). A key that fails
// too often inside the window is blocked for a while, doubling on each repeat. Keys include the IP,
// so failures from one client never lock a tenant out for its other clients.
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

export interface ThrottleVerdict {
  blocked: boolean;
  retryAfterSeconds: number;
}

const MAX_KEYS = 100_000;
const NOT_BLOCKED: ThrottleVerdict = Object.freeze({ blocked: false, retryAfterSeconds: 0 });

export class AuthThrottle {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private limits: () => ThrottleLimits,
    private readonly clock: Clock,
  ) {}

  private keys(ip: string, tenant: string | undefined): [string, number][] {
    const l = this.limits();
    const out: [string, number][] = [[`ip|${ip}`, l.perIpMaxFailures]];
    if (tenant) out.push([`ipt|${ip}|${tenant}`, l.perIpTenantMaxFailures]);
    return out;
  }

  check(ip: string, tenant?: string): ThrottleVerdict {
    if (this.buckets.size === 0) return NOT_BLOCKED; // the common case: nobody has failed recently
    const now = this.clock.now();
    let until = 0;
    const a = this.buckets.get(`ip|${ip}`);
    if (a && a.blockedUntil > now) until = a.blockedUntil;
    if (tenant) {
      const b = this.buckets.get(`ipt|${ip}|${tenant}`);
      if (b && b.blockedUntil > now) until = Math.max(until, b.blockedUntil);
    }
    return until > now ? { blocked: true, retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)) } : NOT_BLOCKED;
  }

  /** Counts a failure; returns the keys that just tripped (for the audit log). */
  fail(ip: string, tenant?: string): { tripped: string[]; blockSeconds: number } {
    const now = this.clock.now();
    const l = this.limits();
    const tripped: string[] = [];
    let blockSeconds = 0;
    for (const [key, max] of this.keys(ip, tenant)) {
      let b = this.buckets.get(key);
      if (!b) {
        if (this.buckets.size >= MAX_KEYS) this.evict(now);
        b = { failures: 0, windowStart: now, blockedUntil: 0, strikes: 0, lastSeen: now };
        this.buckets.set(key, b);
      }
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
        tripped.push(key.startsWith("ipt|") ? "ip+tenant" : "ip");
        blockSeconds = Math.max(blockSeconds, secs);
      }
    }
    return { tripped, blockSeconds };
  }

  /** A success clears the (IP, tenant) failures; the per-IP count keeps running. */
  succeed(ip: string, tenant: string): void {
    if (this.buckets.size === 0) return;
    const b = this.buckets.get(`ipt|${ip}|${tenant}`);
    if (b && b.blockedUntil <= this.clock.now()) this.buckets.delete(`ipt|${ip}|${tenant}`);
  }

  private evict(now: number): void {
    const horizon = now - this.limits().maxBlockSeconds * 1000;
    for (const [k, b] of this.buckets) {
      if (b.blockedUntil <= now && b.lastSeen < horizon) this.buckets.delete(k);
    }
    // Still full: drop the oldest entries (Map iterates in insertion order).
    for (const k of this.buckets.keys()) {
      if (this.buckets.size < MAX_KEYS * 0.9) break;
      this.buckets.delete(k);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}
