// Resource limits for bwrap runs: one cgroup per run (v2 when the gateway's cgroup is delegated,
// else v1 controllers where writable), rlimits when neither is available. The run's first process
// joins the cgroup before it execs bwrap, so nothing the sandbox starts can be outside it; a timeout
// kills every process in the cgroup.
import fs from "node:fs";
import path from "node:path";
import { processAlive } from "../../lib/pid.ts";

export type Limiter = "cgroup-v2" | "cgroup-v1" | "rlimits";

export interface CgroupSupport {
  limiter: Limiter;
  /** v2: the delegated parent; v1: the parent per controller. */
  v2Base?: string;
  v1Bases?: Partial<Record<V1Controller, string>>;
  /** Why cgroups are not used (rlimits), or what was set up. */
  note: string;
}

type V1Controller = "memory" | "pids" | "cpu" | "cpuacct";

export interface RunLimits {
  memoryBytes: number;
  pids: number;
  cpus: number;
}

export interface RunCgroup {
  /** cgroup.procs files the run's first process writes its pid into. */
  readonly procsFiles: string[];
  kill(): void;
  stats(): { cpuMs?: number; memoryPeakBytes?: number; oomKilled: boolean };
  remove(): Promise<void>;
}

const CGROUP_ROOT = "/sys/fs/cgroup";

function readOwnCgroups(): Map<string, string> {
  // "hierarchy-id:controllers:path" per line; v2 is "0::/path".
  const out = new Map<string, string>();
  let text = "";
  try {
    text = fs.readFileSync("/proc/self/cgroup", "utf8");
  } catch {
    return out;
  }
  for (const line of text.trim().split("\n")) {
    const [, controllers, p] = line.split(":", 3) as [string, string, string];
    if (controllers === "") out.set("", p);
    else for (const c of controllers.split(",")) out.set(c, p);
  }
  return out;
}

function writable(dir: string): boolean {
  const probe = path.join(dir, `openclaw-probe-${process.pid}-${Date.now()}`);
  try {
    fs.mkdirSync(probe);
    fs.rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
}

function v2Mount(): string | null {
  if (fs.existsSync(path.join(CGROUP_ROOT, "cgroup.controllers"))) return CGROUP_ROOT;
  const unified = path.join(CGROUP_ROOT, "unified");
  if (fs.existsSync(path.join(unified, "cgroup.controllers"))) return unified;
  return null;
}

const V2_NEEDED = ["memory", "pids", "cpu"];

/**
 * Prepares a v2 parent for sandbox cgroups. The gateway's own cgroup must be delegated to it (systemd
 * `Delegate=yes`); since a cgroup with processes cannot enable controllers for its children, the
 * gateway first moves itself into a `gateway` leaf.
 */
function setupV2(): { base: string } | { problem: string } {
  const mount = v2Mount();
  if (!mount) return { problem: "no cgroup v2 hierarchy" };
  const own = readOwnCgroups().get("");
  if (own === undefined) return { problem: "not in a cgroup v2 hierarchy" };
  const base = path.join(mount, own);
  let available: string[];
  try {
    available = fs.readFileSync(path.join(base, "cgroup.controllers"), "utf8").trim().split(/\s+/);
  } catch {
    return { problem: `cannot read ${base}/cgroup.controllers` };
  }
  const missing = V2_NEEDED.filter((c) => !available.includes(c));
  if (missing.length > 0) return { problem: `cgroup v2 controllers ${missing.join(", ")} are not available in ${base}` };
  try {
    const enabled = fs.readFileSync(path.join(base, "cgroup.subtree_control"), "utf8").trim().split(/\s+/);
    if (V2_NEEDED.some((c) => !enabled.includes(c))) {
      const procs = fs.readFileSync(path.join(base, "cgroup.procs"), "utf8").trim();
      if (procs && base !== mount) {
        const leaf = path.join(base, "gateway");
        fs.mkdirSync(leaf, { recursive: true });
        for (const pid of procs.split("\n")) {
          try {
            fs.writeFileSync(path.join(leaf, "cgroup.procs"), pid);
          } catch {
            // a process that exited meanwhile
          }
        }
      }
      fs.writeFileSync(path.join(base, "cgroup.subtree_control"), V2_NEEDED.map((c) => `+${c}`).join(" "));
    }
  } catch (err) {
    return { problem: `cgroup ${base} is not delegated to this process (${(err as Error).message})` };
  }
  if (!writable(base)) return { problem: `cannot create cgroups under ${base}` };
  return { base };
}

function setupV1(): { bases: Partial<Record<V1Controller, string>> } | { problem: string } {
  const own = readOwnCgroups();
  const bases: Partial<Record<V1Controller, string>> = {};
  for (const c of ["memory", "pids", "cpu", "cpuacct"] as V1Controller[]) {
    const p = own.get(c);
    if (p === undefined) continue;
    // cpu and cpuacct are often co-mounted as "cpu,cpuacct".
    const candidates = [path.join(CGROUP_ROOT, c), path.join(CGROUP_ROOT, "cpu,cpuacct")];
    const mount = candidates.find((m) => fs.existsSync(path.join(m, "cgroup.procs")));
    if (!mount) continue;
    const base = path.join(mount, p);
    if (writable(base)) bases[c] = base;
  }
  const missing = (["memory", "pids", "cpu"] as V1Controller[]).filter((c) => !bases[c]);
  if (missing.length > 0) return { problem: `cgroup v1 controllers ${missing.join(", ")} are not writable` };
  return { bases };
}

let cached: CgroupSupport | null = null;

export function detectCgroups(): CgroupSupport {
  if (cached) return cached;
  const v2 = setupV2();
  if ("base" in v2) return (cached = { limiter: "cgroup-v2", v2Base: v2.base, note: `cgroup v2 under ${v2.base}` });
  const v1 = setupV1();
  if ("bases" in v1) return (cached = { limiter: "cgroup-v1", v1Bases: v1.bases, note: `cgroup v1 (${v2.problem})` });
  return (cached = { limiter: "rlimits", note: `no usable cgroup: ${v2.problem}; ${v1.problem}` });
}

function write(dir: string, file: string, value: string | number): void {
  fs.writeFileSync(path.join(dir, file), String(value));
}

function readNumber(file: string): number | undefined {
  try {
    const v = Number(fs.readFileSync(file, "utf8").trim().split(/\s+/)[0]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function readKeyed(file: string, key: string): number | undefined {
  try {
    const line = fs.readFileSync(file, "utf8").split("\n").find((l) => l.startsWith(`${key} `));
    return line ? Number(line.split(/\s+/)[1]) : undefined;
  } catch {
    return undefined;
  }
}

function killAll(procsFile: string): number {
  let text = "";
  try {
    text = fs.readFileSync(procsFile, "utf8").trim();
  } catch {
    return 0;
  }
  if (!text) return 0;
  let n = 0;
  for (const pid of text.split("\n")) {
    try {
      process.kill(Number(pid), "SIGKILL");
      n++;
    } catch {
      // already gone
    }
  }
  return n;
}

async function rmdirWhenEmpty(dirs: string[]): Promise<void> {
  // The run's last processes may still be exiting when it returns: retry quickly, then back off.
  for (let attempt = 0; attempt < 60; attempt++) {
    const left = dirs.filter((d) => fs.existsSync(d));
    if (left.length === 0) return;
    for (const d of left) {
      killAll(path.join(d, "cgroup.procs"));
      try {
        fs.rmdirSync(d);
      } catch {
        // still has processes: wait for them to be reaped
      }
    }
    await Bun.sleep(Math.min(2 ** attempt, 100));
  }
}

/**
 * Run cgroups this process made and has not removed yet. A sweep in this same process (another
 * gateway core's start-up in one process: the test suite, an embedding) must not take them away
 * between their mkdir and their first process joining: the pid in the name only tells processes apart.
 */
const madeHere = new Set<string>();

/** Creates the run's cgroup with its limits, or returns null in rlimits mode. Throws if it cannot. */
export function createRunCgroup(support: CgroupSupport, runId: string, limits: RunLimits): RunCgroup | null {
  if (support.limiter !== "cgroup-v2" && support.limiter !== "cgroup-v1") return null;
  // The creating process's pid is in the name, so another gateway's (or CLI's) start-up sweep never
  // removes a cgroup in the moment between its mkdir and its first process joining it.
  const name = `openclaw-sb-${process.pid}-${runId}`;
  madeHere.add(name);
  try {
    const made = createNamed(support, name, limits);
    const remove = made.remove;
    return { ...made, remove: () => remove().finally(() => madeHere.delete(name)) };
  } catch (err) {
    madeHere.delete(name);
    throw err;
  }
}

function createNamed(support: CgroupSupport, name: string, limits: RunLimits): RunCgroup {
  const periodUs = 100_000;
  const quotaUs = Math.max(1000, Math.round(limits.cpus * periodUs));
  if (support.limiter === "cgroup-v2") {
    const dir = path.join(support.v2Base!, name);
    fs.mkdirSync(dir);
    try {
      write(dir, "memory.max", limits.memoryBytes);
      try {
        write(dir, "memory.swap.max", 0);
      } catch {
        // no swap accounting: nothing to limit
      }
      write(dir, "pids.max", limits.pids);
      write(dir, "cpu.max", `${quotaUs} ${periodUs}`);
    } catch (err) {
      fs.rmdirSync(dir);
      throw err;
    }
    return {
      procsFiles: [path.join(dir, "cgroup.procs")],
      kill() {
        try {
          write(dir, "cgroup.kill", 1);
        } catch {
          killAll(path.join(dir, "cgroup.procs"));
        }
      },
      stats() {
        const usage = readKeyed(path.join(dir, "cpu.stat"), "usage_usec");
        return {
          cpuMs: usage === undefined ? undefined : Math.round(usage / 1000),
          memoryPeakBytes: readNumber(path.join(dir, "memory.peak")),
          oomKilled: (readKeyed(path.join(dir, "memory.events"), "oom_kill") ?? 0) > 0,
        };
      },
      remove: () => rmdirWhenEmpty([dir]),
    };
  }
  if (support.limiter === "cgroup-v1") {
    const bases = support.v1Bases!;
    const dirs: Partial<Record<V1Controller, string>> = {};
    try {
      for (const [c, base] of Object.entries(bases) as [V1Controller, string][]) {
        const dir = path.join(base, name);
        if (Object.values(dirs).includes(dir)) continue; // co-mounted controllers share one directory
        fs.mkdirSync(dir);
        dirs[c] = dir;
      }
      const mem = dirs.memory!;
      write(mem, "memory.limit_in_bytes", limits.memoryBytes);
      if (fs.existsSync(path.join(mem, "memory.memsw.limit_in_bytes"))) write(mem, "memory.memsw.limit_in_bytes", limits.memoryBytes);
      try {
        write(mem, "memory.swappiness", 0);
      } catch {
        // not settable at this level
      }
      write(dirs.pids!, "pids.max", limits.pids);
      const cpu = dirs.cpu ?? path.join(bases.cpu!, name);
      write(cpu, "cpu.cfs_period_us", periodUs);
      write(cpu, "cpu.cfs_quota_us", quotaUs);
    } catch (err) {
      for (const d of Object.values(dirs)) {
        try {
          fs.rmdirSync(d!);
        } catch {
          // best effort
        }
      }
      throw err;
    }
    const all = [...new Set(Object.values(dirs))] as string[];
    return {
      procsFiles: all.map((d) => path.join(d, "cgroup.procs")),
      kill() {
        // No cgroup.kill in v1: repeat until the pids cgroup is empty (pids.max bounds a fork race).
        for (let i = 0; i < 20; i++) if (killAll(path.join(dirs.pids!, "cgroup.procs")) === 0) break;
      },
      stats() {
        const usageNs = dirs.cpuacct ? readNumber(path.join(dirs.cpuacct, "cpuacct.usage")) : undefined;
        return {
          cpuMs: usageNs === undefined ? undefined : Math.round(usageNs / 1e6),
          memoryPeakBytes: readNumber(path.join(dirs.memory!, "memory.max_usage_in_bytes")),
          oomKilled: (readKeyed(path.join(dirs.memory!, "memory.oom_control"), "oom_kill") ?? 0) > 0,
        };
      },
      remove: () => rmdirWhenEmpty(all),
    };
  }
  throw new Error(`no run cgroups with limiter ${support.limiter}`);
}

/**
 * Removes run cgroups left behind by a process that died mid-run (the CLI killed, a crash); a live
 * process's are its own business. A cgroup still in use by another gateway's live run is not empty,
 * so rmdir refuses it and it stays.
 */
export function removeStaleRunCgroups(support: CgroupSupport): number {
  const bases = support.limiter === "cgroup-v2" ? [support.v2Base!] : support.limiter === "cgroup-v1" ? [...new Set(Object.values(support.v1Bases ?? {}))] : [];
  let removed = 0;
  for (const base of bases) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(base).filter((n) => n.startsWith("openclaw-sb-"));
    } catch {
      continue;
    }
    for (const n of names) {
      if (madeHere.has(n)) continue; // this process's own run, maybe not joined yet
      const owner = /^openclaw-sb-(\d+)-/.exec(n)?.[1];
      if (owner && Number(owner) !== process.pid && processAlive(Number(owner))) continue;
      try {
        fs.rmdirSync(path.join(base, n));
        removed++;
      } catch {
        // in use: a live run of another process
      }
    }
  }
  return removed;
}
