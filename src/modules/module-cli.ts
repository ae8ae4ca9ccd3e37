// The CLI half of the module contract: a module's commands are citty argument definitions and a run
// function given the module's services and a CliIo. The CLI layer (src/cli/) opens the state
// directory around each run, prints, and turns errors into one line on stderr and an exit code;
// modules never import it.
import type { ArgsDef, ParsedArgs } from "citty";
import type { AdminContext } from "../edge/tenant-scope.ts";

/** The options every command takes, before or after the subcommand (see cli/argv.ts). */
export const commonArgs = {
  home: { type: "string", description: "state directory (default: $OPENCLAW_HOME or ~/.openclaw)" },
  json: { type: "boolean", description: "print machine-readable JSON" },
} as const;

/** A command's refusal of its own arguments: `openclaw: <message>` on stderr and the exit code (1). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** What a running command may do besides calling its services. */
export interface CliIo {
  readonly json: boolean;
  /** The operator at the terminal: audit records name the OS user; may name any tenant. */
  readonly operator: AdminContext;
  /** The arguments as typed (for repeatable flags and what follows `--`). */
  readonly raw: readonly string[];
  /** Prints `value` as JSON with --json, else runs `human`. */
  emit(value: unknown, human: () => void): void;
  /** One line on stdout. */
  line(text?: string): void;
  /** One line on stderr. */
  warn(text: string): void;
  write(chunk: Uint8Array | string): void;
  writeErr(chunk: Uint8Array | string): void;
  /** The values of a repeatable flag (`--allow a --allow b`), before any `--`. */
  repeated(flag: string): string[];
  /** Standard input, when it is not a terminal. */
  stdin(): Promise<Uint8Array | null>;
  /** Aborted on SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** A one-line progress display on a terminal (nothing with --json or when stderr is not one). */
  progress(label: string): { update(done: number, total: number | null): void; end(): void };
  /** The process exits with this code once the command returns (default 0). */
  exitCode(code: number): void;
}

export type CliArgs<A extends ArgsDef> = ParsedArgs<A & typeof commonArgs>;

export interface CliCommand<S, A extends ArgsDef = ArgsDef> {
  description: string;
  args?: A;
  run(svc: S, args: CliArgs<A>, io: CliIo): unknown | Promise<unknown>;
}

export interface CliGroup<S> {
  /** Said once per group; a module that adds to another's group may leave it out. */
  description?: string;
  commands: CliTree<S>;
}

export type CliTree<S> = { [name: string]: CliCommand<S, any> | CliGroup<S> };

export function isCliGroup<S>(node: CliCommand<S, any> | CliGroup<S>): node is CliGroup<S> {
  return "commands" in node;
}


/** `const command = commandsFor<MyServices>()`: commands of one module, services and arguments typed. */
export function commandsFor<S>() {
  return <const A extends ArgsDef>(def: CliCommand<S, A>): CliCommand<S, A> => def;
}
