// Runs one prepared sandbox process: feeds stdin, collects stdout and stderr up to a cap (streaming
// them to an optional sink), enforces the wall-clock timeout through the backend's kill, and reports
// how it ended. Knows nothing about bwrap or docker beyond the argv and extra fds it is handed.
import fs from "node:fs";
import os from "node:os";
import type { TerminalIo } from "./sandbox.types.ts";

export interface RunnerInput {
  argv: string[];
  env: Record<string, string>;
  /** Bytes written to fd 3, 4, ... of the child, then closed. */
  extraFds: Uint8Array[];
  /** Open descriptors the child inherits, numbered after the extra fds (the caller closes its own). */
  passFds?: number[];
  stdin: Uint8Array | null;
  /** Input written as it arrives (flushed chunk by chunk), instead of `stdin`'s fixed bytes. */
  stdinStream?: ReadableStream<Uint8Array>;
  timeoutMs: number;
  outputBytes: number;
  /**
   * Kills every process of the run (cgroup, container). Called on timeout and abort; `alive` says
   * whether the direct child still runs (a container may not exist yet while its CLI starts it).
   */
  killTree(alive: () => boolean): void | Promise<void>;
  onStdout?(chunk: Uint8Array): void;
  onStderr?(chunk: Uint8Array): void;
  signal?: AbortSignal;
  /** Told the first process's pid once it is spawned (the disk watchdog finds the run's processes). */
  onStart?(pid: number): void;
  /** Interactive: stdin, stdout and stderr are one PTY (output streamed to onData, not collected). */
  terminal?: Pick<TerminalIo, "cols" | "rows" | "onData" | "onOpen">;
}

export interface RunnerOutput {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  stdout: Uint8Array;
  stderr: Uint8Array;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  durationMs: number;
}

class Capped {
  private readonly parts: Uint8Array[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly cap: number) {}
  push(chunk: Uint8Array) {
    if (this.size >= this.cap) {
      if (chunk.length > 0) this.truncated = true;
      return;
    }
    const room = this.cap - this.size;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (chunk.length > room) this.truncated = true;
    this.parts.push(part.slice());
    this.size += part.length;
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}

async function drain(stream: ReadableStream<Uint8Array>, sink: Capped, tap?: (c: Uint8Array) => void): Promise<void> {
  const reader = stream.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) return;
    sink.push(value);
    tap?.(value);
  }
}

type StdinSink = { write(b: Uint8Array): unknown; flush(): unknown; end(): unknown };

/** Feeds a stream to the child's stdin chunk by chunk; stops when the child exits. Never throws (EPIPE is the exit's business). */
async function pump(stream: ReadableStream<Uint8Array>, sink: StdinSink, exited: Promise<unknown>): Promise<void> {
  const reader = stream.getReader();
  void exited.then(() => reader.cancel().catch(() => {}));
  const quiet = async (r: unknown) => void (r instanceof Promise ? await r.catch(() => {}) : undefined);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await quiet(sink.write(value));
      await quiet(sink.flush());
    }
  } catch {
    // the child exited, or the stream was cancelled
  } finally {
    try {
      await quiet(sink.end());
    } catch {
      // already closed
    }
  }
}

const SIGNALS = new Map(Object.entries(os.constants.signals).map(([name, n]) => [n as number, name]));

export function signalName(n: number): string | null {
  return SIGNALS.get(n) ?? null;
}

export async function runSandboxProcess(input: RunnerInput): Promise<RunnerOutput> {
  const started = performance.now();
  const tty = input.terminal;
  const std = tty ? (["ignore", "ignore", "ignore"] as const) : ([input.stdin || input.stdinStream ? "pipe" : "ignore", "pipe", "pipe"] as const);
  const stdio: ("pipe" | "ignore" | number)[] = [...std, ...input.extraFds.map(() => "pipe" as const), ...(input.passFds ?? [])];
  // cwd "/": the gateway's own directory is none of the sandbox's business (bwrap's pid 1 keeps it).
  // A terminal: Bun opens a fresh PTY, makes its slave the child's stdio and controlling terminal
  // (a new session), and keeps the master here; nothing of the gateway's own terminal is passed on.
  const proc = Bun.spawn(input.argv, {
    cwd: "/",
    env: input.env,
    stdio: stdio as ["pipe", "pipe", "pipe"],
    ...(tty ? { terminal: { cols: tty.cols, rows: tty.rows, data: (_t: unknown, bytes: Uint8Array) => tty.onData(bytes) } } : {}),
  } as Parameters<typeof Bun.spawn>[1]);
  input.onStart?.(proc.pid);
  if (tty) {
    const t = (proc as unknown as { terminal: { write(s: string): void; resize(c: number, r: number): void; close(): void } }).terminal;
    tty.onOpen({ write: (d) => t.write(d), resize: (c, r) => t.resize(c, r) });
    void proc.exited.then(() => {
      // Output still in the PTY is read before the master closes.
      setTimeout(() => {
        try {
          t.close();
        } catch {
          // closed already
        }
      }, 50);
    });
  }
  // Extra fds are socket pairs: write everything, then close our end so the reader sees EOF.
  input.extraFds.forEach((bytes, i) => {
    const fd = proc.stdio[3 + i] as unknown as number;
    try {
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
    } catch {
      // the child died before reading: its exit status says why
    } finally {
      fs.closeSync(fd);
    }
  });
  if (input.stdin && proc.stdin) {
    const sink = proc.stdin as unknown as { write(b: Uint8Array): unknown; end(): unknown };
    // A large input is flushed later: if the command exits (or is killed) before reading it all, that
    // flush fails with EPIPE, and a rejection left unhandled would take the gateway down.
    const quiet = (r: unknown) => void (r instanceof Promise && r.catch(() => {}));
    try {
      quiet(sink.write(input.stdin));
      quiet(sink.end());
    } catch {
      // the command exited without reading its input
    }
  }
  if (input.stdinStream && proc.stdin) void pump(input.stdinStream, proc.stdin as unknown as StdinSink, proc.exited);
  const out = new Capped(input.outputBytes);
  const err = new Capped(input.outputBytes);
  let timedOut = false;
  let aborted = false;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  const kill = async () => {
    try {
      await input.killTree(() => !exited);
    } catch {
      // fall through to killing the direct child
    }
    try {
      proc.kill("SIGKILL");
    } catch {
      // already exited
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    void kill();
  }, input.timeoutMs);
  const onAbort = () => {
    aborted = true;
    void kill();
  };
  input.signal?.addEventListener("abort", onAbort, { once: true });
  if (input.signal?.aborted) onAbort();
  await Promise.all(tty ? [proc.exited] : [drain(proc.stdout as ReadableStream<Uint8Array>, out, input.onStdout), drain(proc.stderr as ReadableStream<Uint8Array>, err, input.onStderr), proc.exited]);
  clearTimeout(timer);
  input.signal?.removeEventListener("abort", onAbort);
  const code = proc.exitCode;
  const sig = proc.signalCode;
  return {
    exitCode: code,
    signal: sig === null || sig === undefined ? null : typeof sig === "number" ? signalName(sig) : String(sig),
    timedOut,
    aborted,
    stdout: out.bytes(),
    stderr: err.bytes(),
    stdoutTruncated: out.truncated,
    stderrTruncated: err.truncated,
    durationMs: Math.round(performance.now() - started),
  };
}
