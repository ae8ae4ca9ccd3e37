// The disk a sandbox run holds that no name shows. A file unlinked while open (or made with
// O_TMPFILE, or mapped and then unlinked) keeps its blocks until the last descriptor or mapping
// goes, and a walk of the tenant's directory never sees it: a run held 792 MiB that way against a
// 100 MiB limit. So the watchdog also counts, for every process of the run, the regular files on the
// tenants' filesystem with no name left that it has open (/proc/<pid>/fd) or mapped (/proc/<pid>/maps).
// Which processes belong to a run is the sandbox's to say (a RunProcs: its cgroup, its process tree,
// its container).
import fs from "node:fs";

export interface RunProcs {
  /** The run's processes now (host pids); empty until known. */
  pids(): number[];
}

export interface Held {
  bytes: number;
  files: number;
}

/** A device number as /proc/<pid>/maps prints it (major:minor in hex). */
function devText(dev: number): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}`;
}

/**
 * Blocks of regular files on device `dev` with no name left (nlink 0) that the processes have open or
 * mapped. `seen` (dev:ino) keeps a file held by several processes, or runs, from counting twice. A
 * mapping whose file the gateway may not stat (map_files needs CAP_SYS_ADMIN) counts its mapped length.
 */
export function heldUnlinked(pids: number[], dev: number, seen: Set<string> = new Set()): Held {
  const held: Held = { bytes: 0, files: 0 };
  const mapsDev = devText(dev);
  const count = (st: fs.Stats) => {
    const key = `${st.dev}:${st.ino}`;
    if (!st.isFile() || st.nlink !== 0 || st.dev !== dev || seen.has(key)) return;
    seen.add(key);
    held.bytes += st.blocks * 512;
    held.files++;
  };
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      try {
        count(fs.statSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        // closed meanwhile
      }
    }
    let maps = "";
    try {
      maps = fs.readFileSync(`/proc/${pid}/maps`, "utf8");
    } catch {
      continue;
    }
    for (const line of maps.split("\n")) {
      if (!line.endsWith(" (deleted)")) continue;
      const [range, , , mdev, ino] = line.split(/\s+/, 5) as [string, string, string, string, string];
      if (mdev !== mapsDev || seen.has(`${dev}:${ino}`)) continue;
      try {
        count(fs.statSync(`/proc/${pid}/map_files/${range}`));
      } catch {
        const [a, b] = range.split("-").map((x) => parseInt(x, 16)) as [number, number];
        seen.add(`${dev}:${ino}`);
        held.bytes += b - a;
        held.files++;
      }
    }
  }
  return held;
}
