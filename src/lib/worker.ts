// Where a worker's code is: compiled into the binary (named by its path under src/, see
// scripts/build.ts) or, run from source, the file itself.

/** True inside the compiled binary (its modules live in Bun's embedded file system). */
export function isCompiledBinary(): boolean {
  return import.meta.url.includes("$bunfs");
}

/** The specifier `new Worker()` takes for `fromSrc`, a path under src/ ("modules/usage/ledger.worker.ts"). */
export function workerSpecifier(fromSrc: string): string {
  return isCompiledBinary() ? `./${fromSrc}` : new URL(`../${fromSrc}`, import.meta.url).href;
}
