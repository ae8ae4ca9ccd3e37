// The start-up sweep of run cgroups removes only those of processes that are gone: another gateway's
// (or a CLI's) run cgroup, made a moment before its first process joins it, is never taken away.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { createRunCgroup, detectCgroups, removeStaleRunCgroups } from "../../../src/modules/sandbox/cgroups.ts";

describe("run cgroup sweep", () => {
  const support = detectCgroups();
  const bases = support.limiter === "cgroup-v2" ? [support.v2Base!] : support.limiter === "cgroup-v1" ? [...new Set(Object.values(support.v1Bases ?? {}))] : [];

  test("keeps a live process's empty run cgroup, removes a dead one's", () => {
    // The sandbox suite runs where run cgroups exist (CI installs what it needs); rlimits has none to sweep.
    expect(bases.length).toBeGreaterThan(0);
    // A child that is certainly dead by the time the sweep runs.
    const dead = Bun.spawnSync(["true"]).pid;
    const live = Bun.spawn(["sleep", "30"]);
    const made: string[] = [];
    try {
      for (const base of bases) {
        for (const pid of [live.pid, dead]) {
          const dir = path.join(base, `openclaw-sb-${pid}-sweeptest${Math.random().toString(36).slice(2, 8)}`);
          fs.mkdirSync(dir);
          made.push(dir);
        }
      }
      removeStaleRunCgroups(support);
      const left = made.filter((d) => fs.existsSync(d));
      expect(left.length).toBe(bases.length);
      expect(left.every((d) => path.basename(d).startsWith(`openclaw-sb-${live.pid}-`))).toBe(true);
    } finally {
      live.kill();
      for (const d of made) if (fs.existsSync(d)) fs.rmdirSync(d);
    }
  });

  test("a sweep in the same process (another core's start-up) keeps this process's own run cgroups not yet joined; a leftover with this pid goes", async () => {
    expect(bases.length).toBeGreaterThan(0);
    const run = createRunCgroup(support, `sweeptest-own-${Math.random().toString(36).slice(2, 8)}`, { memoryBytes: 64 * 1024 * 1024, pids: 16, cpus: 1 })!;
    const leftover = bases.map((b) => path.join(b, `openclaw-sb-${process.pid}-sweeptest-left${Math.random().toString(36).slice(2, 8)}`));
    for (const d of leftover) fs.mkdirSync(d);
    try {
      removeStaleRunCgroups(support);
      // The run's first process can still join: its cgroup.procs files are there.
      expect(run.procsFiles.every((f) => fs.existsSync(f))).toBe(true);
      // A directory of this pid the process did not make (an earlier process with the same pid) is swept.
      expect(leftover.filter((d) => fs.existsSync(d))).toEqual([]);
      await run.remove();
      expect(run.procsFiles.some((f) => fs.existsSync(path.dirname(f)))).toBe(false);
    } finally {
      for (const d of leftover) if (fs.existsSync(d)) fs.rmdirSync(d);
      for (const f of run.procsFiles) if (fs.existsSync(path.dirname(f))) fs.rmdirSync(path.dirname(f));
    }
  });
});
