// Memory-allocator settings for the long-running gateway. Bun's mimalloc returns freed memory to the
// OS from a background thread and, by default, also punches "holes" in pages still in use, every
// 100 ms. Under load that thread runs for milliseconds at a time on the CPU the event loop wants
// (measured here: bursts of 3–4 ms, about every 50 ms, while the other CPU sat idle) and its
// madvise calls make the gateway fault the memory back in — the routing benchmark's p99 at
// concurrency 1 came from there. With hole purging off and freed memory kept for 1 s before it goes
// back (upstream mimalloc's own default), the bursts are gone (bench/README.md, "Routing").
//
// mimalloc reads its options from the environment once, when the process starts, so the gateway
// re-executes itself (same PID, argv and descriptors) with them set. An operator's own MIMALLOC_*
// values are kept; nothing happens when every option is already set.
import { isCompiledBinary } from "./worker.ts";

export const GATEWAY_ALLOCATOR_ENV: Readonly<Record<string, string>> = {
  MIMALLOC_PURGE_HOLES: "0",
  MIMALLOC_PURGE_DELAY: "1000",
};

/** The environment to run with, or null when it is already in place. */
export function allocatorEnv(env: NodeJS.ProcessEnv): Record<string, string> | null {
  const missing = Object.entries(GATEWAY_ALLOCATOR_ENV).filter(([k]) => env[k] === undefined);
  if (missing.length === 0) return null;
  return { ...(env as Record<string, string>), ...Object.fromEntries(missing) };
}

/** Replaces this process with itself under the allocator settings; returns if they are in place or it cannot. */
export function reexecWithAllocatorSettings(current: NodeJS.ProcessEnv): void {
  const env = allocatorEnv(current);
  const execve = (process as unknown as { execve?: (file: string, args: string[], env: Record<string, string>) => never }).execve;
  if (!env || process.platform !== "linux" || typeof execve !== "function") return;
  // argv[0] is the runtime; in the compiled binary argv[1] is its embedded entry point, not an argument.
  const args = isCompiledBinary() ? [process.execPath, ...process.argv.slice(2)] : [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  try {
    execve.call(process, process.execPath, args, env);
  } catch {
    // Could not replace the process: run with the defaults.
  }
}
