// The CLI in this process: `openclaw <args>` as the binary runs it (global options hoisted, the same
// command tree, the same output), with its output, log lines and exit code captured.
import { hoistGlobalOptions } from "../../src/cli/argv.ts";
import type { CliRuntime } from "../../src/cli/context.ts";
import { runCli } from "../../src/cli/run.ts";
import { readEnvironment } from "../../src/config/env.ts";

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  stdin?: Uint8Array | string;
  signal?: AbortSignal;
  extraModules?: CliRuntime["extraModules"];
  /** Called with each line written to stdout, as it is written (commands that run until stopped). */
  onStdout?: (text: string) => void;
}

const text = (c: string | Uint8Array) => (typeof c === "string" ? c : Buffer.from(c).toString());

/** Runs `openclaw <args>` with OPENCLAW_HOME=home (and only PATH and `env` besides, like a fresh shell). */
export async function cli(home: string, args: string[], opts: CliOptions = {}): Promise<CliResult> {
  let out = "";
  let err = "";
  const rt: CliRuntime = {
    env: readEnvironment({ PATH: process.env.PATH!, OPENCLAW_HOME: home, ...opts.env }),
    stdout: (c) => {
      out += text(c);
      opts.onStdout?.(text(c));
    },
    stderr: (c) => void (err += text(c)),
    stdin: async () => (opts.stdin === undefined ? null : typeof opts.stdin === "string" ? Buffer.from(opts.stdin) : opts.stdin),
    stderrIsTTY: false,
    signal: opts.signal ?? new AbortController().signal,
    extraModules: opts.extraModules,
    logWrite: (t) => void (err += t),
  };
  const code = await runCli(hoistGlobalOptions(args), rt);
  return { code: code ?? 0, out, err };
}
