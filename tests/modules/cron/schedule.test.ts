// Schedules: each kind's fire times, time zones and DST (America/New_York, Europe/Berlin), and the
// errors a tenant gets for a bad schedule (each names its field).
import { describe, expect, test } from "bun:test";
import { checkSchedule, latestFireBetween, nextFire } from "../../../src/modules/cron/schedule.ts";
import { checkAdd } from "../../../src/modules/cron/job-input.ts";

const T = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const MIN = 60_000;

function errorOf(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error");
}

/** The fire times after `from`, in order. */
function times(s: any, from: number, n: number, createdAt = from): string[] {
  const out: string[] = [];
  let t = from;
  for (let i = 0; i < n; i++) {
    const next = nextFire(s, t, createdAt);
    if (next === null) break;
    out.push(iso(next)!);
    t = next;
  }
  return out;
}

describe("cron schedules", () => {
  test("cron: five and six fields, in the job's time zone", () => {
    const now = T("2026-06-01T00:00:00Z");
    const s = checkSchedule({ kind: "cron", expr: "0 9 * * 1-5", tz: "Europe/Berlin" }, now, MIN);
    expect(s).toEqual({ kind: "cron", expr: "0 9 * * 1-5", tz: "Europe/Berlin" });
    // 09:00 Berlin summer time is 07:00 UTC; 2026-06-01 is a Monday.
    expect(times(s, now, 3)).toEqual(["2026-06-01T07:00:00.000Z", "2026-06-02T07:00:00.000Z", "2026-06-03T07:00:00.000Z"]);
    const six = checkSchedule({ kind: "cron", expr: "30 */5 * * * *" }, now, MIN);
    expect(six).toEqual({ kind: "cron", expr: "30 */5 * * * *", tz: "UTC" });
    expect(times(six, now, 2)).toEqual(["2026-06-01T00:00:30.000Z", "2026-06-01T00:05:30.000Z"]);
    // A fire time exactly at `after` is not "after" it.
    expect(iso(nextFire(six, T("2026-06-01T00:05:30Z"), 0))).toBe("2026-06-01T00:10:30.000Z");
  });

  test("every: from the anchor (default: the creation time), whole intervals", () => {
    const created = T("2026-06-01T00:00:10Z");
    const s = checkSchedule({ kind: "every", everyMs: 5 * MIN }, created, MIN);
    expect(times(s, created, 2, created)).toEqual(["2026-06-01T00:05:10.000Z", "2026-06-01T00:10:10.000Z"]);
    expect(iso(nextFire(s, T("2026-06-01T01:00:11Z"), created))).toBe("2026-06-01T01:05:10.000Z");
    expect(iso(latestFireBetween(s, T("2026-06-01T00:00:00Z"), T("2026-06-01T01:07:00Z"), created))).toBe("2026-06-01T01:05:10.000Z");
  });

  test("at: once; in the past is refused", () => {
    const now = T("2026-06-01T00:00:00Z");
    const s = checkSchedule({ kind: "at", at: "2026-06-01T03:00:00+02:00" }, now, MIN);
    expect(s).toEqual({ kind: "at", at: "2026-06-01T01:00:00.000Z" });
    expect(errorOf(() => checkSchedule({ kind: "at", at: "2026-06-01T01:59:00+02:00" }, now, MIN)).message).toBe("schedule.at: 2026-05-31T23:59:00.000Z is in the past");
    const later = checkSchedule({ kind: "at", at: "2026-06-02T00:00:00Z" }, now, MIN);
    expect(times(later, now, 5)).toEqual(["2026-06-02T00:00:00.000Z"]);
    expect(errorOf(() => checkSchedule({ kind: "at", at: "tomorrow" }, now, MIN)).message).toStartWith("schedule.at: must be an ISO-8601 time");
  });

  test("DST, America/New_York: a time in the spring-forward gap fires once at the next valid instant; a repeated hour fires once (the first)", () => {
    // 2026-03-08 02:00 EST -> 03:00 EDT: 02:30 does not exist that day.
    const gap = checkSchedule({ kind: "cron", expr: "30 2 * * *", tz: "America/New_York" }, T("2026-03-07T12:00:00Z"), MIN);
    expect(times(gap, T("2026-03-07T12:00:00Z"), 3)).toEqual(["2026-03-08T07:00:00.000Z", "2026-03-09T06:30:00.000Z", "2026-03-10T06:30:00.000Z"]);
    // 2026-11-01 01:00-02:00 happens twice (EDT, then EST): 01:30 fires once, in EDT.
    const rep = checkSchedule({ kind: "cron", expr: "30 1 * * *", tz: "America/New_York" }, T("2026-10-31T12:00:00Z"), MIN);
    expect(times(rep, T("2026-10-31T12:00:00Z"), 3)).toEqual(["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z", "2026-11-03T06:30:00.000Z"]);
    // A stepped expression follows elapsed time: both 01:00 and both 01:30 of the repeated hour.
    const stepped = checkSchedule({ kind: "cron", expr: "*/30 * * * *", tz: "America/New_York" }, T("2026-11-01T04:45:00Z"), MIN);
    expect(times(stepped, T("2026-11-01T04:45:00Z"), 4)).toEqual(["2026-11-01T05:00:00.000Z", "2026-11-01T05:30:00.000Z", "2026-11-01T06:00:00.000Z", "2026-11-01T06:30:00.000Z"]);
  });

  test("DST, Europe/Berlin: the gap of 2026-03-29 and the repeated hour of 2026-10-25", () => {
    const s = checkSchedule({ kind: "cron", expr: "30 2 * * *", tz: "Europe/Berlin" }, T("2026-03-28T12:00:00Z"), MIN);
    // 02:30 CET does not exist on the 29th: 03:00 CEST (01:00Z) instead, once.
    expect(times(s, T("2026-03-28T12:00:00Z"), 3)).toEqual(["2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z", "2026-03-31T00:30:00.000Z"]);
    // 02:30 happens twice on the 25th of October: once, the first (CEST, 00:30Z).
    expect(times(s, T("2026-10-24T12:00:00Z"), 3)).toEqual(["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z", "2026-10-27T01:30:00.000Z"]);
  });

  test("expression errors name the field and say what is wrong", () => {
    const now = T("2026-06-01T00:00:00Z");
    expect(errorOf(() => checkSchedule({ kind: "cron", expr: "61 * * * *" }, now, MIN)).message).toBe("schedule.expr: Invalid value for minute: 61");
    expect(errorOf(() => checkSchedule({ kind: "cron", expr: "* * * *" }, now, MIN)).message).toContain("schedule.expr: invalid configuration format ('* * * *'), five or six space separated fields are required");
    // Seven fields (a year) is not one of ours.
    expect(errorOf(() => checkSchedule({ kind: "cron", expr: "0 0 0 * * * 2027" }, now, MIN)).message).toStartWith("schedule.expr: ");
    expect(errorOf(() => checkSchedule({ kind: "cron", expr: "0 9 * * *", tz: "Mars/Base" }, now, MIN)).message).toBe('schedule.tz: "Mars/Base" is not an IANA time zone name (e.g. Europe/Berlin, America/New_York, UTC)');
    const e = errorOf(() => checkSchedule({ kind: "cron", expr: "a b c d e" }, now, MIN));
    expect(e.code).toBe("INVALID_PARAMS");
    expect(e.details).toEqual({ field: "schedule.expr" });
    expect(errorOf(() => checkSchedule({ kind: "cron", expr: "* * * * *", zone: "UTC" }, now, MIN)).message).toBe("schedule.zone: unknown field (allowed: kind, expr, tz)");
    expect(errorOf(() => checkSchedule({ kind: "weekly" }, now, MIN)).message).toBe('schedule.kind: must be "cron", "every" or "at"');
  });

  test("the minimum interval applies to every and to the gaps of a cron expression", () => {
    const now = T("2026-06-01T00:00:00Z");
    expect(errorOf(() => checkSchedule({ kind: "every", everyMs: 30_000 }, now, MIN)).message).toBe("schedule.everyMs: 30000 ms is shorter than the shortest interval allowed, 60000 ms (gateway.cron.minIntervalSeconds)");
    expect(errorOf(() => checkSchedule({ kind: "cron", expr: "*/10 * * * * *" }, now, MIN)).message).toContain("fires 10 s apart");
    // Gaps further out count too: 00 and 00:30 seconds of minute 5.
    expect(errorOf(() => checkSchedule({ kind: "cron", expr: "0,30 5 * * * *" }, now, MIN)).message).toContain("fires 30 s apart");
    expect(checkSchedule({ kind: "cron", expr: "* * * * *" }, now, MIN).kind).toBe("cron");
  });

  test("a job input: unknown fields refused by name, channel delivery checked, defaults filled", () => {
    const now = T("2026-06-01T00:00:00Z");
    const opts = { minIntervalMs: MIN, webhookAllow: [] };
    const ok = checkAdd({ name: "n", schedule: { kind: "every", everyMs: MIN }, payload: { kind: "exec", command: "true" } }, now, opts);
    expect(ok).toMatchObject({ enabled: true, delivery: { mode: "none" }, catchUp: "once", deleteAfterRun: false });
    expect(errorOf(() => checkAdd({ name: "n", schedule: { kind: "every", everyMs: MIN }, payload: { kind: "exec", command: "true" }, owner: "x" }, now, opts)).message).toStartWith("owner: unknown field");
    // (Issue 17 made channel delivery real: it was refused as "not available yet" before.)
    expect(errorOf(() => checkAdd({ name: "n", schedule: { kind: "every", everyMs: MIN }, payload: { kind: "exec", command: "true" }, delivery: { mode: "channel", channel: "tg" } }, now, opts)).message).toBe(
      "delivery.to: is required: the chat (or user) id on the channel's platform to send the run's result to",
    );
    expect(checkAdd({ name: "n", schedule: { kind: "every", everyMs: MIN }, payload: { kind: "exec", command: "true" }, delivery: { mode: "channel", channel: "ch_x", to: "42" } }, now, opts).delivery).toEqual({ mode: "channel", channel: "ch_x", to: "42" });
    expect(errorOf(() => checkAdd({ name: "n", schedule: { kind: "every", everyMs: MIN }, payload: { kind: "agentTurn", message: "hi", sessionKey: "a", isolated: true } }, now, opts)).message).toContain("payload.sessionKey:");
    expect(errorOf(() => checkAdd({ name: "n", schedule: { kind: "every", everyMs: MIN }, payload: { kind: "exec", command: "true" }, delivery: { mode: "webhook", url: "https://hooks.example.com/x" } }, now, opts)).message).toBe(
      "delivery.url: hooks.example.com:443 is not in the gateway's webhook allow-list (gateway.cron.webhookAllow)",
    );
  });
});
