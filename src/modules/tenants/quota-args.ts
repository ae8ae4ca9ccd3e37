// --quota.* flags: a number sets the limit, "unlimited" removes it, "default" inherits the gateway's.
import type { QuotaPatch } from "./quota.model.ts";
import { CliError } from "../module-cli.ts";

export const quotaArgs = {
  "quota.tokens-per-day": { type: "string", description: "tokens per UTC day (number | unlimited | default)" },
  "quota.cost-per-day-usd": { type: "string", description: "USD per UTC day (number | unlimited | default)" },
  "quota.requests-per-minute": { type: "string", description: "requests per minute (number | unlimited | default)" },
  "quota.max-concurrent": { type: "string", description: "concurrent requests (number | unlimited | default)" },
} as const;

const FLAGS: [string, keyof QuotaPatch, boolean][] = [
  ["quota.tokens-per-day", "tokensPerDay", true],
  ["quota.cost-per-day-usd", "costPerDayUsd", false],
  ["quota.requests-per-minute", "requestsPerMinute", true],
  ["quota.max-concurrent", "maxConcurrent", true],
];

export function quotaPatchFromArgs(args: Record<string, unknown>): QuotaPatch | undefined {
  const patch: QuotaPatch = {};
  let any = false;
  for (const [flag, field, integer] of FLAGS) {
    const raw = args[flag];
    if (raw === undefined) continue;
    if (typeof raw !== "string" || raw === "") throw new CliError(`--${flag} needs a value (a number, "unlimited" or "default")`);
    any = true;
    const v = raw.trim().replaceAll("_", "");
    if (v === "unlimited") patch[field] = null;
    else if (v === "default") patch[field] = "default";
    else {
      const n = Number(v);
      if (!/^\d+(\.\d+)?$/.test(v) || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
        throw new CliError(`--${flag} must be a non-negative ${integer ? "integer" : "number"}, "unlimited" or "default" (got ${JSON.stringify(raw)})`);
      }
      patch[field] = n;
    }
  }
  return any ? patch : undefined;
}

export function describeLimits(limits: Record<string, number | null>): string {
  const f = (v: number | null, unit: string, money = false) =>
    v === null ? `unlimited ${unit}` : money ? `$${v.toLocaleString("en-US")}${unit}` : `${v.toLocaleString("en-US")} ${unit}`;
  return [
    f(limits.tokensPerDay ?? null, "tokens/day"),
    f(limits.costPerDayUsd ?? null, "/day", true),
    f(limits.requestsPerMinute ?? null, "requests/min"),
    f(limits.maxConcurrent ?? null, "concurrent"),
  ].join(", ");
}
