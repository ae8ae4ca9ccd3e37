// Quota admission for routed requests. Each tenant has an in-memory account for the current UTC day
// (settled usage, loaded once from the ledger, plus in-flight reservations), a sliding one-minute log
// of admissions and an in-flight count. Admission checks every limit and reserves the worst case in
// one synchronous step, so concurrent requests can never push a tenant past a limit: the event loop
// runs one admission at a time, and this process is the only one that routes.
import type { Clock } from "../../core/clock.ts";
import { AppError } from "../../core/errors.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import { nextUtcMidnight, utcDayStart } from "../../lib/time.ts";
import { TimeWindow } from "../../lib/time-window.ts";
import type { QuotaLimits } from "../tenants/quota.model.ts";

const MICRO = 1_000_000;
const WINDOW_MS = 60_000;

interface Account {
  /** The tenant incarnation the account belongs to (a re-created id starts a new account). */
  incarnation: string | null;
  day: number;
  usedTokens: number;
  usedMicro: number;
  reservedTokens: number;
  reservedMicro: number;
  inFlight: number;
  /** Admission times within the last minute (only kept when a per-minute limit exists). */
  window: TimeWindow;
}

export interface Reservation {
  tenantId: string;
  incarnation: string | null;
  day: number;
  tokens: number;
  micro: number;
  settled: boolean;
}

export interface AdmitRequest {
  /** Upper bound of prompt tokens. */
  promptTokens: number;
  /** Output tokens the request may generate (max_tokens × n). */
  maxOutputTokens: number;
  /** Completions requested (n); the output cap applies to each. */
  choices: number;
  /** Worst-case cost in micro-USD of one output token and one prompt token. */
  microPerPromptToken: number;
  microPerOutputToken: number;
}

export type Admission =
  | { ok: true; reservation: Reservation; maxOutputTokens: number; clamped: boolean; headers: Record<string, string> }
  | { ok: false; error: AppError };

export interface QuotaSnapshot {
  limits: QuotaLimits;
  usedTokensToday: number;
  usedCostTodayUsd: number;
  reservedTokens: number;
  reservedCostUsd: number;
  requestsLastMinute: number;
  inFlight: number;
  remaining: { tokensToday: number | null; costTodayUsd: number | null; requestsThisMinute: number | null; concurrent: number | null };
  resetsAt: string;
}

function openAiDuration(ms: number): string {
  if (ms <= 0) return "0s";
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  let s = Math.ceil(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ""}${h || m ? `${m}m` : ""}${s}s`;
}

export function createQuotaEngine(deps: {
  clock: Clock;
  limits: (tenantId: string) => QuotaLimits;
  /** Settled usage of a tenant for the UTC day starting at dayStart. */
  usedOn: (tenantId: string, dayStart: number) => { tokens: number; micro: number };
  /** The tenant's current incarnation (null: no such tenant). */
  incarnation?: (tenantId: string) => string | null;
  /** Told of every refusal (by the limit that refused) and every settlement (metrics). */
  observe?: { refused(limit: string): void; settled(tenantId: string, tokens: number): void };
}) {
  const accounts = new Map<string, Account>();

  function account(tenantId: string, now: number): Account {
    const day = utcDayStart(now);
    const incarnation = deps.incarnation?.(tenantId) ?? null;
    let a = accounts.get(tenantId);
    // The id was deleted and created again (here or by the CLI): a new owner starts from nothing.
    if (a && a.incarnation !== incarnation) a = undefined;
    if (!a || a.day !== day) {
      // A new UTC day: settled usage comes from the ledger; reservations of the previous day stay
      // attributed to it (their rows carry its date), only the in-flight count and window carry over.
      const used = deps.usedOn(tenantId, day);
      a = { incarnation, day, usedTokens: used.tokens, usedMicro: used.micro, reservedTokens: 0, reservedMicro: 0, inFlight: a?.inFlight ?? 0, window: a?.window ?? new TimeWindow() };
      accounts.set(tenantId, a);
    }
    a.window.dropThrough(now - WINDOW_MS);
    return a;
  }

  function headers(limits: QuotaLimits, a: Account, now: number): Record<string, string> {
    const h: Record<string, string> = {};
    if (limits.requestsPerMinute !== null) {
      h["x-ratelimit-limit-requests"] = String(limits.requestsPerMinute);
      h["x-ratelimit-remaining-requests"] = String(Math.max(0, limits.requestsPerMinute - a.window.count));
      h["x-ratelimit-reset-requests"] = openAiDuration(a.window.count ? a.window.newest()! + WINDOW_MS - now : 0);
    }
    if (limits.tokensPerDay !== null) {
      h["x-ratelimit-limit-tokens"] = String(limits.tokensPerDay);
      h["x-ratelimit-remaining-tokens"] = String(Math.max(0, limits.tokensPerDay - a.usedTokens - a.reservedTokens));
      h["x-ratelimit-reset-tokens"] = openAiDuration(nextUtcMidnight(now) - now);
    }
    return h;
  }

  function refuse(kind: "rate" | "quota", message: string, retryAfterSeconds: number, hdrs: Record<string, string>, details: { limit: string }): Admission {
    deps.observe?.refused(details.limit);
    return {
      ok: false,
      error: new AppError(kind === "rate" ? "RATE_LIMITED" : "QUOTA_EXCEEDED", message, {
        headers: { ...hdrs, "retry-after": String(Math.max(1, Math.ceil(retryAfterSeconds))) },
        details,
      }),
    };
  }

  return {
    admit(tenant: TenantScope, req: AdmitRequest): Admission {
      const { tenantId } = tenant;
      const now = deps.clock.now();
      const limits = deps.limits(tenantId);
      const a = account(tenantId, now);
      const hdrs = headers(limits, a, now);
      const toMidnight = (nextUtcMidnight(now) - now) / 1000;

      if (limits.maxConcurrent !== null && a.inFlight >= limits.maxConcurrent) {
        return refuse("rate", `concurrent request limit reached (${limits.maxConcurrent} in flight)`, 1, hdrs, { limit: "maxConcurrent" });
      }
      if (limits.requestsPerMinute !== null && a.window.count >= limits.requestsPerMinute) {
        const retry = (a.window.oldest()! + WINDOW_MS - now) / 1000;
        return refuse("rate", `request rate limit reached (${limits.requestsPerMinute} per minute)`, retry, hdrs, { limit: "requestsPerMinute" });
      }

      // Output may be clamped to what the daily budgets leave, as long as at least one token fits.
      let maxOut = req.maxOutputTokens;
      let clamped = false;
      if (limits.tokensPerDay !== null) {
        const left = limits.tokensPerDay - a.usedTokens - a.reservedTokens - req.promptTokens;
        const perChoice = Math.floor(left / req.choices);
        if (perChoice < 1) {
          return refuse("quota", `daily token quota exhausted (${limits.tokensPerDay} tokens per UTC day); it resets at 00:00 UTC`, toMidnight, hdrs, { limit: "tokensPerDay" });
        }
        if (perChoice < maxOut) {
          maxOut = perChoice;
          clamped = true;
        }
      }
      if (limits.costPerDayUsd !== null) {
        const budget = Math.floor(limits.costPerDayUsd * MICRO);
        const left = budget - a.usedMicro - a.reservedMicro - Math.ceil(req.promptTokens * req.microPerPromptToken);
        const perChoice = req.microPerOutputToken > 0 ? Math.floor(left / req.choices / req.microPerOutputToken) : Number.POSITIVE_INFINITY;
        if (left < 0 || perChoice < 1) {
          return refuse("quota", `daily cost quota exhausted ($${limits.costPerDayUsd} per UTC day); it resets at 00:00 UTC`, toMidnight, hdrs, { limit: "costPerDayUsd" });
        }
        if (perChoice < maxOut) {
          maxOut = perChoice;
          clamped = true;
        }
      }

      const tokens = req.promptTokens + maxOut * req.choices;
      const micro = Math.ceil(req.promptTokens * req.microPerPromptToken + maxOut * req.choices * req.microPerOutputToken);
      a.reservedTokens += tokens;
      a.reservedMicro += micro;
      a.inFlight++;
      if (limits.requestsPerMinute !== null) a.window.push(now);
      return { ok: true, reservation: { tenantId, incarnation: a.incarnation, day: a.day, tokens, micro, settled: false }, maxOutputTokens: maxOut, clamped, headers: headers(limits, a, now) };
    },

    /** Replaces the reservation with what was actually used. Safe to call once; later calls are ignored. */
    settle(r: Reservation, used: { tokens: number; micro: number }): void {
      if (r.settled) return;
      r.settled = true;
      deps.observe?.settled(r.tenantId, used.tokens);
      const a = accounts.get(r.tenantId);
      if (!a || a.incarnation !== r.incarnation) return; // a previous owner's request: its usage is in the ledger, under its incarnation
      a.inFlight = Math.max(0, a.inFlight - 1);
      if (a.day !== r.day) return; // the day rolled over; that day's totals live in the ledger
      a.reservedTokens -= r.tokens;
      a.reservedMicro -= r.micro;
      a.usedTokens += used.tokens;
      a.usedMicro += used.micro;
    },

    headers({ tenantId }: TenantScope): Record<string, string> {
      const now = deps.clock.now();
      return headers(deps.limits(tenantId), account(tenantId, now), now);
    },

    snapshot({ tenantId }: TenantScope): QuotaSnapshot {
      const now = deps.clock.now();
      const limits = deps.limits(tenantId);
      const a = account(tenantId, now);
      const rem = (limit: number | null, used: number) => (limit === null ? null : Math.max(0, limit - used));
      return {
        limits,
        usedTokensToday: a.usedTokens,
        usedCostTodayUsd: a.usedMicro / MICRO,
        reservedTokens: a.reservedTokens,
        reservedCostUsd: a.reservedMicro / MICRO,
        requestsLastMinute: a.window.count,
        inFlight: a.inFlight,
        remaining: {
          tokensToday: rem(limits.tokensPerDay, a.usedTokens + a.reservedTokens),
          costTodayUsd: limits.costPerDayUsd === null ? null : Math.max(0, limits.costPerDayUsd * MICRO - a.usedMicro - a.reservedMicro) / MICRO,
          requestsThisMinute: rem(limits.requestsPerMinute, a.window.count),
          concurrent: rem(limits.maxConcurrent, a.inFlight),
        },
        resetsAt: new Date(nextUtcMidnight(now)).toISOString(),
      };
    },

    /** Forgets a tenant's account (deleted tenant, or its usage restored from elsewhere). */
    forget({ tenantId }: TenantScope): void {
      accounts.delete(tenantId);
    },
  };
}

export type QuotaEngine = ReturnType<typeof createQuotaEngine>;
