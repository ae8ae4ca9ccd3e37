// A circuit breaker per deployment: after `failures` consecutive failed attempts the deployment is
// skipped for `cooldownMs`; then one trial attempt is let through (half-open) — its success closes
// the circuit, its failure opens it again. Failures are what the router retries (connection errors,
// timeouts, 429, 5xx); a request the provider refused as invalid says nothing about its health.

export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerPolicy {
  failures: number;
  cooldownMs: number;
}

export class Breaker {
  private consecutive = 0;
  private openedAt: number | null = null;
  private trialInFlight = false;

  constructor(private readonly now: () => number) {}

  state(policy: BreakerPolicy): BreakerState {
    if (this.openedAt === null) return "closed";
    return this.now() - this.openedAt >= policy.cooldownMs ? "half-open" : "open";
  }

  /** Whether an attempt may go now; a half-open circuit lets exactly one trial through at a time. */
  tryAcquire(policy: BreakerPolicy): boolean {
    const s = this.state(policy);
    if (s === "closed") return true;
    if (s === "open" || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  /** Milliseconds until an open circuit lets a trial through (0 if it would now). */
  retryInMs(policy: BreakerPolicy): number {
    return this.openedAt === null ? 0 : Math.max(0, this.openedAt + policy.cooldownMs - this.now());
  }

  success(): void {
    this.consecutive = 0;
    this.openedAt = null;
    this.trialInFlight = false;
  }

  failure(policy: BreakerPolicy): void {
    this.consecutive++;
    const wasTrial = this.trialInFlight;
    this.trialInFlight = false;
    if (wasTrial || this.consecutive >= policy.failures) this.openedAt = this.now();
  }

  /** An attempt that ended neither way (the client went away, the request was invalid): frees a trial slot. */
  release(): void {
    this.trialInFlight = false;
  }
}
