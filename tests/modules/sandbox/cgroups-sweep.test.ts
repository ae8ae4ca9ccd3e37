// The start-up sweep of run cgroups removes only those of processes that are gone: another gateway's
// (or a CLI's) run cgroup, made a moment before its first process joins it, is never taken away.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { detectCgroups, removeStaleRunCgroups } from "../../../src/modules/sandbox/cgroups.ts";

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
});
