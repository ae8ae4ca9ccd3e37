// Shared CLI plumbing: the common flags, opening the core on the state directory, printing results
// (human or --json), and turning any error into one line on stderr and a non-zero exit.
import { createCore, type Core, type CoreOptions } from "../app/core.ts";
import { readEnvironment } from "../config/env.ts";
import { isAppError } from "../core/errors.ts";
import { createLogger } from "../core/logger.ts";
import { newRequestId } from "../lib/ids.ts";
import type { OpContext } from "../modules/tenants/tenants.service.ts";

export const commonArgs = {
  home: { type: "string", description: "state directory (default: $OPENCLAW_HOME or ~/.openclaw)" },
  json: { type: "boolean", description: "print machine-readable JSON" },
} as const;

export interface CommonArgs {
  home?: string;
  json?: boolean;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function openCore(args: CommonArgs, extra: Partial<CoreOptions> = {}): Core {
  return createCore({ home: args.home, log: createLogger({ level: args.json ? 1 : 3 }), ...extra });
}

export async function withCore<T>(args: CommonArgs, fn: (core: Core) => T | Promise<T>, extra: Partial<CoreOptions> = {}): Promise<T> {
  const core = openCore(args, extra);
  try {
    return await fn(core);
  } finally {
    core.close();
  }
}

/** The operator at the terminal, for audit records: the OS user. */
export function operator(core: Core): OpContext {
  return { actor: { kind: "operator", id: core.env.osUser }, requestId: newRequestId() };
}

export function emit(args: CommonArgs, value: unknown, human: () => void): void {
  if (args.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else human();
}

export function line(text = ""): void {
  process.stdout.write(`${text}\n`);
}

/** Wraps a command's run: errors become `openclaw: <reason>` on stderr and exit code 1 (or the CliError's). */
export function action<A>(fn: (args: A, rawArgs: string[]) => unknown | Promise<unknown>) {
  return async ({ args, rawArgs }: { args: A; rawArgs?: string[] }) => {
    try {
      await fn(args, rawArgs ?? []);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const code = isAppError(err) ? err.code : err instanceof CliError ? "CLI_ERROR" : "INTERNAL";
      if ((args as CommonArgs).json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
      process.stderr.write(`openclaw: ${message}\n`);
      if (!isAppError(err) && !(err instanceof CliError) && readEnvironment().debug) console.error(err);
      process.exit(err instanceof CliError ? err.exitCode : 1);
    }
  };
}
