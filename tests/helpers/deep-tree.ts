// Deep directory chains made directly on disk (the way a sandbox makes them: `mkdir d; cd d`, tens
// of thousands of times), one level at a time through directory descriptors, since no path to the
// bottom fits in PATH_MAX.
import fs from "node:fs";

const DIR = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW;

/** Makes `depth` nested directories named `name` under `dir`, with a file `leaf` at the bottom. */
export function makeDeepTree(dir: string, depth: number, opts: { name?: string; leaf?: string; uid?: number; gid?: number } = {}): void {
  const name = opts.name ?? "d";
  let fd = fs.openSync(dir, DIR);
  try {
    for (let i = 0; i < depth; i++) {
      fs.mkdirSync(`/proc/self/fd/${fd}/${name}`, { mode: 0o700 });
      const next = fs.openSync(`/proc/self/fd/${fd}/${name}`, DIR);
      if (opts.uid !== undefined) fs.fchownSync(next, opts.uid, opts.gid ?? opts.uid);
      fs.closeSync(fd);
      fd = next;
    }
    fs.writeFileSync(`/proc/self/fd/${fd}/leaf`, opts.leaf ?? "bottom");
  } finally {
    fs.closeSync(fd);
  }
}

/** How deep the chain of `name` directories under `dir` goes, and what its bottom `leaf` holds. */
export function measureDeepTree(dir: string, name = "d"): { depth: number; leaf: string | null } {
  let fd = fs.openSync(dir, DIR);
  let depth = 0;
  try {
    while (true) {
      let next: number;
      try {
        next = fs.openSync(`/proc/self/fd/${fd}/${name}`, DIR);
      } catch {
        break;
      }
      fs.closeSync(fd);
      fd = next;
      depth++;
    }
    const leaf = fs.existsSync(`/proc/self/fd/${fd}/leaf`) ? fs.readFileSync(`/proc/self/fd/${fd}/leaf`, "utf8") : null;
    return { depth, leaf };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Probes `/healthz` (in process) every `everyMs` until stopped, and reports the longest wait: an
 * answer's own time, or how late a probe started (a blocked event loop delays both, and every client
 * of the gateway with them).
 */
export function healthProbe(handle: (r: Request) => Promise<Response> | Response, everyMs = 10) {
  let worst = 0;
  let count = 0;
  let stopped = false;
  const loop = (async () => {
    let due = performance.now() + everyMs;
    while (!stopped) {
      await Bun.sleep(Math.max(0, due - performance.now()));
      const r = await handle(new Request("http://localhost/healthz"));
      if (r.status !== 200) throw new Error(`/healthz answered ${r.status}`);
      const end = performance.now();
      worst = Math.max(worst, end - due);
      count++;
      due = end + everyMs;
    }
  })();
  return {
    async stop(): Promise<{ worstMs: number; count: number }> {
      stopped = true;
      await loop;
      return { worstMs: Math.round(worst), count };
    },
  };
}
