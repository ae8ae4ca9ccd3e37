// Tells in-process caches (token digests, quota limits) whether the state may have changed, cheaply
// enough for every request. Every audited change, in any process, bumps a counter in <home>/state.gen
// after it commits; the gateway reads that counter through a shared memory mapping (nanoseconds, no
// syscall), so a CLI rotation is seen by the very next request. PRAGMA data_version, read at most
// once a second, backs it up for changes made some other way.
import fs from "node:fs";
import path from "node:path";
import type { Database } from "bun:sqlite";

export const GENERATION_FILE = "state.gen";

export interface Generation {
  read(): number;
  bump(): void;
}

export function openGeneration(home: string): Generation {
  const file = path.join(home, GENERATION_FILE);
  try {
    fs.writeFileSync(file, Buffer.alloc(8), { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    if (fs.statSync(file).size < 8) fs.appendFileSync(file, Buffer.alloc(8));
  }
  const map = Bun.mmap(file);
  const view = new DataView(map.buffer, map.byteOffset, 8);
  return {
    read: () => view.getUint32(0, true),
    bump: () => view.setUint32(0, (view.getUint32(0, true) + 1) >>> 0, true),
  };
}

export interface ChangeTracker {
  version(): string;
}

export function createChangeTracker(sqlite: Database, generation: Generation, localGeneration: () => number, backstopMs = 1000): ChangeTracker {
  const query = sqlite.query("PRAGMA data_version");
  let dataVersion = 0;
  let readAt = Number.NEGATIVE_INFINITY;
  return {
    version() {
      const now = performance.now();
      if (now - readAt >= backstopMs) {
        dataVersion = (query.get() as { data_version: number }).data_version;
        readAt = now;
      }
      return `${generation.read()}:${localGeneration()}:${dataVersion}`;
    },
  };
}
