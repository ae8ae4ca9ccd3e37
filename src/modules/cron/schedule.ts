// Schedules: checking what a tenant sends (each error names its field) and computing fire times.
// Cron expressions are croner's (five or six fields, an IANA time zone); DST follows croner: a
// fixed time that falls in a spring-forward gap fires once at the next valid instant, a fixed time in
// a repeated hour fires once (the first), and stepped/wildcard fields follow elapsed time.
import { Cron } from "croner";
import { AppError } from "../../core/errors.ts";
import type { CronSchedule } from "./cron.types.ts";

const bad = (field: string, message: string) => new AppError("INVALID_PARAMS", `${field}: ${message}`, { details: { field } });

/** Fire times checked against the minimum interval for a cron expression. */
const GAP_SAMPLES = 12;
/** Fire times a catch-up walks at most to find the latest missed one. */
const MAX_WALK = 100_000;
/** Upper bound of `every` (a year) and of how far ahead an `at` may be (ten years). */
const MAX_EVERY_MS = 365 * 86_400_000;
const MAX_AT_AHEAD_MS = 10 * 365 * 86_400_000;

const crons = new Map<string, Cron>();

/** A parsed expression (kept: the scheduler computes the same few expressions over and over). */
function cronOf(expr: string, tz: string): Cron {
  const key = `${tz}\u0000${expr}`;
  let c = crons.get(key);
  if (!c) {
    if (crons.size >= 10_000) crons.clear();
    c = new Cron(expr, { paused: true, timezone: tz, mode: "5-or-6-parts" });
    crons.set(key, c);
  }
  return c;
}

export function checkTimeZone(tz: unknown, field = "schedule.tz"): string {
  if (typeof tz !== "string" || tz.length === 0 || tz.length > 64) throw bad(field, "must be an IANA time zone name, e.g. Europe/Berlin");
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
  } catch {
    throw bad(field, `"${tz}" is not an IANA time zone name (e.g. Europe/Berlin, America/New_York, UTC)`);
  }
  return tz;
}

/** croner's message without its class prefix, and the field it concerns. */
function cronError(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.replace(/^Cron(Pattern|Date)?:\s*/, "").replace("exactly five, six, or seven space separated parts are required", "five or six space separated fields are required");
}

function plainObject(v: unknown, field: string): Record<string, unknown> {
  if (!v || typeof v !== "object" || Array.isArray(v)) throw bad(field, "must be an object");
  return v as Record<string, unknown>;
}

export function onlyKeys(o: Record<string, unknown>, field: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw bad(field ? `${field}.${k}` : k, `unknown field (allowed: ${allowed.join(", ")})`);
}

/**
 * A schedule as the tenant sent it, checked: the expression parses, the zone exists, the interval is
 * not shorter than the admin's minimum, an `at` is in the future. Returns it normalised.
 */
export function checkSchedule(raw: unknown, now: number, minIntervalMs: number): CronSchedule {
  const o = plainObject(raw, "schedule");
  switch (o.kind) {
    case "cron": {
      onlyKeys(o, "schedule", ["kind", "expr", "tz"]);
      if (typeof o.expr !== "string" || o.expr.trim().length === 0 || o.expr.length > 256) throw bad("schedule.expr", "must be a cron expression of five or six fields (at most 256 characters)");
      const expr = o.expr.trim().replace(/\s+/g, " ");
      const tz = o.tz === undefined ? "UTC" : checkTimeZone(o.tz);
      let times: Date[];
      try {
        times = cronOf(expr, tz).nextRuns(GAP_SAMPLES, new Date(now));
      } catch (err) {
        throw bad("schedule.expr", cronError(err));
      }
      if (times.length === 0) throw bad("schedule.expr", "never fires");
      for (let i = 1; i < times.length; i++) {
        const gap = times[i]!.getTime() - times[i - 1]!.getTime();
        if (gap < minIntervalMs) throw bad("schedule.expr", `fires ${gap / 1000} s apart (${times[i - 1]!.toISOString()}, ${times[i]!.toISOString()}); the shortest interval allowed is ${minIntervalMs / 1000} s (gateway.cron.minIntervalSeconds)`);
      }
      return { kind: "cron", expr, tz };
    }
    case "every": {
      onlyKeys(o, "schedule", ["kind", "everyMs", "anchorMs"]);
      if (typeof o.everyMs !== "number" || !Number.isInteger(o.everyMs) || o.everyMs <= 0 || o.everyMs > MAX_EVERY_MS) throw bad("schedule.everyMs", `must be a whole number of milliseconds, 1 to ${MAX_EVERY_MS}`);
      if (o.everyMs < minIntervalMs) throw bad("schedule.everyMs", `${o.everyMs} ms is shorter than the shortest interval allowed, ${minIntervalMs} ms (gateway.cron.minIntervalSeconds)`);
      if (o.anchorMs !== undefined && (typeof o.anchorMs !== "number" || !Number.isInteger(o.anchorMs) || o.anchorMs < 0 || o.anchorMs > now + MAX_AT_AHEAD_MS)) throw bad("schedule.anchorMs", "must be a time in milliseconds since the epoch");
      return o.anchorMs === undefined ? { kind: "every", everyMs: o.everyMs } : { kind: "every", everyMs: o.everyMs, anchorMs: o.anchorMs as number };
    }
    case "at": {
      onlyKeys(o, "schedule", ["kind", "at"]);
      if (typeof o.at !== "string" || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(o.at)) throw bad("schedule.at", "must be an ISO-8601 time with a zone offset, e.g. 2026-12-24T18:00:00Z");
      const at = Date.parse(o.at);
      if (!Number.isFinite(at)) throw bad("schedule.at", `"${o.at}" is not a valid time`);
      if (at <= now) throw bad("schedule.at", `${new Date(at).toISOString()} is in the past`);
      if (at > now + MAX_AT_AHEAD_MS) throw bad("schedule.at", "is more than ten years ahead");
      return { kind: "at", at: new Date(at).toISOString() };
    }
    default:
      throw bad("schedule.kind", 'must be "cron", "every" or "at"');
  }
}

/** The first fire time strictly after `after`, or null when there is none (an `at` that passed). */
export function nextFire(s: CronSchedule, after: number, createdAt: number): number | null {
  switch (s.kind) {
    case "at": {
      const at = Date.parse(s.at);
      return at > after ? at : null;
    }
    case "every": {
      const anchor = s.anchorMs ?? createdAt;
      if (after < anchor) return anchor;
      return anchor + (Math.floor((after - anchor) / s.everyMs) + 1) * s.everyMs;
    }
    case "cron": {
      // Many jobs share an expression and come due together (every "0 * * * *" job at the hour):
      // croner's walk (~0.1 ms) is done once per expression and instant.
      const key = `${s.tz ?? "UTC"}\u0000${s.expr}\u0000${after}`;
      const known = nextMemo.get(key);
      if (known !== undefined) return known;
      const next = cronOf(s.expr, s.tz ?? "UTC").nextRun(new Date(after));
      if (nextMemo.size >= 4096) nextMemo.clear();
      nextMemo.set(key, next ? next.getTime() : null);
      return next ? next.getTime() : null;
    }
  }
}

const nextMemo = new Map<string, number | null>();

/** The latest fire time in [from, to], or null: the one run a catch-up makes for what was missed. */
export function latestFireBetween(s: CronSchedule, from: number, to: number, createdAt: number): number | null {
  if (from > to) return null;
  if (s.kind === "at") {
    const at = Date.parse(s.at);
    return at >= from && at <= to ? at : null;
  }
  if (s.kind === "every") {
    const anchor = s.anchorMs ?? createdAt;
    if (to < anchor) return null;
    const last = anchor + Math.floor((to - anchor) / s.everyMs) * s.everyMs;
    return last >= from ? last : null;
  }
  let t = nextFire(s, from - 1, createdAt);
  let latest: number | null = null;
  for (let i = 0; t !== null && t <= to && i < MAX_WALK; i++) {
    latest = t;
    t = nextFire(s, t, createdAt);
  }
  return latest;
}
