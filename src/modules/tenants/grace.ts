// A token rotation's grace period as callers give it ("0", "90s", "15m", "1h", "7d"): one parser and
// one message for the admin API, tenant RPC and the CLI.
import { AppError } from "../../core/errors.ts";
import { parseDuration } from "../../lib/duration.ts";

/** Milliseconds; an input that is not a duration is refused, naming it as the caller does (`grace`, `--grace`). */
export function parseGrace(raw: string | undefined, name = "grace", fail: (message: string) => Error = (m) => new AppError("INVALID_PARAMS", m)): number {
  const ms = parseDuration(raw ?? "0");
  if (ms === null) throw fail(`${name} ${JSON.stringify(raw)} is not a duration (e.g. 0, 90s, 15m, 1h, 7d)`);
  return ms;
}
