// Operational logs: consola with one tag per module; JSON lines on stderr when not on a TTY.
// Secrets never reach here: callers pass ids and hash prefixes, never tokens or keys.
import { createConsola, type ConsolaInstance, type ConsolaReporter, type LogObject } from "consola";

export type Logger = ConsolaInstance;

const jsonReporter = (write: (text: string) => void): ConsolaReporter => ({
  log(obj: LogObject) {
    const [first, ...rest] = obj.args;
    const line: Record<string, unknown> = {
      ts: obj.date.toISOString(),
      level: obj.type,
      tag: obj.tag || undefined,
      msg: typeof first === "string" ? first : undefined,
    };
    const extra = typeof first === "string" ? rest : obj.args;
    for (const item of extra) {
      if (item instanceof Error) line.error = item.message;
      else if (item && typeof item === "object") Object.assign(line, item);
    }
    write(`${JSON.stringify(line)}\n`);
  },
});

export interface LoggerOptions {
  json?: boolean;
  level?: number;
  /** Where lines go (default: stderr). */
  write?: (text: string) => void;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const json = opts.json ?? !process.stderr.isTTY;
  const write = opts.write ?? ((text: string) => void process.stderr.write(text));
  const sink = { write } as unknown as NodeJS.WriteStream;
  return createConsola({
    level: opts.level ?? 3,
    // Every line is written: consola would otherwise fold repeats within a second into one (and
    // serialise each line a second time to find them); a log must not lose lines.
    throttle: 0,
    reporters: json ? [jsonReporter(write)] : undefined,
    stdout: opts.write ? sink : process.stderr,
    stderr: opts.write ? sink : process.stderr,
  });
}

/** A logger that drops everything (tests, quiet CLI paths). */
export function silentLogger(): Logger {
  return createConsola({ level: -999, reporters: [] });
}
