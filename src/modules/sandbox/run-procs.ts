// The host processes of one sandbox run, for the disk watchdog, which counts the unlinked files they
// hold open or mapped against the tenant's limit (disk/held-files.ts):
//   bwrap:  the run's cgroup (cgroup.procs), or the process tree under the first process (rlimits)
//   docker: the container's cgroup (runc: the container's processes; gVisor: its sandbox and gofer)
import fs from "node:fs";
import path from "node:path";
import type { RunProcs } from "../disk/disk.service.ts";

function readPids(file: string): number[] {
  try {
    return fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Processes of a run cgroup (any of its controllers' cgroup.procs lists them all). */
export function cgroupProcs(procsFile: string): RunProcs {
  return { pids: () => readPids(procsFile) };
}

/** A process and every descendant (/proc/<pid>/task/<tid>/children), for runs without a cgroup. */
export function treeProcs(root: number): RunProcs {
  return {
    pids() {
      const out: number[] = [];
      const queue = [root];
      const seen = new Set<number>();
      while (queue.length > 0 && out.length < 100_000) {
        const pid = queue.pop()!;
        if (seen.has(pid)) continue;
        seen.add(pid);
        let tasks: string[];
        try {
          tasks = fs.readdirSync(`/proc/${pid}/task`);
        } catch {
          continue; // gone
        }
        out.push(pid);
        for (const t of tasks) {
          let children = "";
          try {
            children = fs.readFileSync(`/proc/${pid}/task/${t}/children`, "utf8");
          } catch {
            // the thread ended
          }
          for (const c of children.split(/\s+/)) if (c) queue.push(Number(c));
        }
      }
      return out;
    },
  };
}

/** The cgroup.procs file of the cgroup `pid` is in (cgroup v1 pids controller, else v2). */
export function procsFileOf(pid: number): string | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/cgroup`, "utf8");
  } catch {
    return null;
  }
  let v2: string | null = null;
  for (const line of text.trim().split("\n")) {
    const [, controllers, p] = line.split(":", 3) as [string, string, string];
    if (controllers.split(",").includes("pids") && p !== "/") {
      const f = path.join("/sys/fs/cgroup/pids", p, "cgroup.procs");
      if (fs.existsSync(f)) return f;
    }
    if (controllers === "" && p !== "/") v2 = p;
  }
  for (const mount of ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]) {
    if (v2 && fs.existsSync(path.join(mount, "cgroup.controllers"))) {
      const f = path.join(mount, v2, "cgroup.procs");
      if (fs.existsSync(f)) return f;
    }
  }
  return null;
}

/**
 * A docker run's processes: its container's cgroup, found from the container's first process once the
 * engine has started it (`docker inspect`, polled in the background); until then, none.
 */
export function dockerProcs(inspectPid: () => Promise<number | null>, signal?: AbortSignal): RunProcs {
  let file: string | null = null;
  let root: number | null = null;
  void (async () => {
    for (let attempt = 0; attempt < 100 && !signal?.aborted; attempt++) {
      const pid = await inspectPid().catch(() => null);
      if (pid) {
        root = pid;
        file = procsFileOf(pid);
        return;
      }
      await Bun.sleep(50);
    }
  })();
  return {
    pids: () => (file ? readPids(file) : root ? treeProcs(root).pids() : []),
  };
}
