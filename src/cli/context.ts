// The CLI's plumbing: where a command writes and reads (the process's streams, or a test's), opening
// the core on the state directory around a command, the operator's context (it mints the scope of a
// tenant the operator names), printing (human or --json), and turning any error into one line on
// stderr and an exit code.
import { createCore, type Core, type CoreOptions } from "../app/core.ts";
import { readEnvironment, type Environment } from "../config/env.ts";
import { isAppError, notFound } from "../core/errors.ts";
import { createLogger } from "../core/logger.ts";
import type { AdminContext } from "../edge/tenant-scope.ts";
import { mintTenantScope } from "../edge/tenant-scope.ts";
import { newRequestId } from "../lib/ids.ts";
import { CliError, type CliIo } from "../modules/module-cli.ts";
import { terminalProgress } from "./progress.ts";

export { CliError };

/** Where the CLI writes and reads: the process's own streams, or a test's. */
export interface CliRuntime {
  env: Environment;
  stdout(chunk: string | Uint8Array): void;
  stderr(chunk: string | Uint8Array): void;
  /** Standard input when it is not a terminal, else null. */
  stdin(): Promise<Uint8Array | null>;
  /** Whether stderr is a terminal (progress displays). */
  stderrIsTTY: boolean;
  /** Whether output may carry colour codes (a terminal, NO_COLOR unset); runCli strips them otherwise. */
  color?: boolean;
  /** Aborted on SIGINT or SIGTERM (commands that run until stopped). */
  signal: AbortSignal;
  /** Modules built after the standard list (tests). */
  extraModules?: CoreOptions["extraModules"];
  /** Log lines go here rather than to the process's stderr (a test reading them). */
  logWrite?: (text: string) => void;
}

export function processRuntime(): CliRuntime {
  const abort = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => abort.abort());
  const env = readEnvironment();
  return {
    env,
    stdout: (c) => void process.stdout.write(c),
    stderr: (c) => void process.stderr.write(c),
    stdin: async () => (process.stdin.isTTY ? null : new Uint8Array(await Bun.stdin.arrayBuffer())),
    stderrIsTTY: !!process.stderr.isTTY,
    color: colorAllowed(env.vars, !!process.stdout.isTTY),
    signal: abort.signal,
  };
}

/** Colour only on a terminal, unless NO_COLOR (any non-empty value, no-color.org) or TERM=dumb; FORCE_COLOR forces it. */
export function colorAllowed(env: Record<string, string | undefined>, tty: boolean): boolean {
  if (env.FORCE_COLOR && env.FORCE_COLOR !== "0") return true;
  if (env.NO_COLOR || env.TERM === "dumb") return false;
  return tty;
}

const SGR = /\x1b\[[0-9;]*m/g;

/** The runtime with colour codes (SGR sequences, nothing else) removed from what it writes, unless colour is allowed. */
export function withoutColor(rt: CliRuntime): CliRuntime {
  if (rt.color) return rt;
  const strip = (c: string | Uint8Array) => (typeof c === "string" ? c.replace(SGR, "") : c);
  return { ...rt, stdout: (c) => rt.stdout(strip(c)), stderr: (c) => rt.stderr(strip(c)) };
}

/** What a run of the command tree ended with: the exit code a command set, if any. */
export interface Outcome {
  code?: number;
}

export interface CommonArgs {
  home?: string;
  json?: boolean;
}

export function openCore(args: CommonArgs, rt: CliRuntime, extra: Partial<CoreOptions> = {}): Core {
  const log = createLogger({ level: args.json ? 1 : 3, ...(rt.logWrite ? { write: rt.logWrite, json: true } : {}) });
  return createCore({ home: args.home, env: rt.env, log, extraModules: rt.extraModules, ...extra });
}

/** The operator at the terminal, for audit records: the OS user. It may name any tenant that exists. */
export function operator(core: Core): AdminContext {
  return {
    actor: { kind: "operator", id: core.env.osUser },
    requestId: newRequestId(),
    tenant(id: string) {
      if (!core.tenants.exists(id)) throw notFound(`tenant "${id}"`);
      return mintTenantScope(id);
    },
  };
}

/** The values of a repeatable flag (`--allow a --allow b`), read from the raw arguments before `--`. */
export function repeated(rawArgs: readonly string[], flag: string): string[] {
  const out: string[] = [];
  const end = rawArgs.indexOf("--");
  const args = end < 0 ? rawArgs : rawArgs.slice(0, end);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === `--${flag}`) {
      const v = args[i + 1];
      if (v === undefined || v.startsWith("--")) throw new CliError(`--${flag} needs a value`);
      out.push(v);
      i++;
    } else if (a.startsWith(`--${flag}=`)) out.push(a.slice(flag.length + 3));
  }
  return out;
}

/** What a module's command is given (module-cli.ts: CliIo), for one run. `code` is what it asked to exit with. */
export function cliIo(core: Core, args: CommonArgs, rawArgs: readonly string[], rt: CliRuntime): CliIo & { code: number | undefined } {
  const line = (text = "") => rt.stdout(`${text}\n`);
  const io = {
    code: undefined as number | undefined,
    json: !!args.json,
    operator: operator(core),
    raw: rawArgs,
    emit(value: unknown, human: () => void) {
      if (args.json) rt.stdout(`${JSON.stringify(value, null, 2)}\n`);
      else human();
    },
    line,
    warn: (text: string) => rt.stderr(`${text}\n`),
    write: (chunk: Uint8Array | string) => rt.stdout(chunk),
    writeErr: (chunk: Uint8Array | string) => rt.stderr(chunk),
    repeated: (flag: string) => repeated(rawArgs, flag),
    stdin: () => rt.stdin(),
    signal: rt.signal,
    progress: (label: string) => terminalProgress(label, !args.json && rt.stderrIsTTY, (s) => rt.stderr(s)),
    exitCode(code: number) {
      io.code = code;
    },
  };
  return io;
}

/**
 * Runs a command: errors become `openclaw: <reason>` on stderr (and a JSON error with --json) and
 * exit code 1 (or the CliError's). Returns the exit code a command asked for, or undefined (success).
 */
export async function action(rt: CliRuntime, args: CommonArgs, fn: () => Promise<number | undefined>): Promise<number | undefined> {
  try {
    return await fn();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const code = isAppError(err) ? err.code : err instanceof CliError ? "CLI_ERROR" : "INTERNAL";
    if (args.json) rt.stdout(`${JSON.stringify({ error: { code, message } })}\n`);
    rt.stderr(`openclaw: ${message}\n`);
    if (!isAppError(err) && !(err instanceof CliError) && rt.env.debug) console.error(err);
    return err instanceof CliError ? err.exitCode : 1;
  }
}
