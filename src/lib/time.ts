export const DAY_MS = 86_400_000;

/** Start of the next UTC day after `now` (quota days reset at 00:00 UTC). */
export function nextUtcMidnight(now: number): number {
  return Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
}

export function utcDayStart(now: number): number {
  return Math.floor(now / DAY_MS) * DAY_MS;
}
