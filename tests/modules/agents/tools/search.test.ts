// file_search: literal and safe-regex matching, glob, bounds (results, time), catastrophic patterns
// refused, and a walk that never leaves the workspace through a planted link.
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { SEARCH_LIMITS } from "../../../../src/modules/agents/tools/file-search.ts";
import { toolWorld } from "./world.ts";

const w = toolWorld();
afterAll(() => w.core.close());
const alpha = w.ctx("alpha");
const ws = w.workspace("alpha");
const betaWs = w.workspace("beta");
fs.writeFileSync(path.join(betaWs, "secret.txt"), "needle BETA-SECRET\n");
fs.mkdirSync(path.join(ws, "src/deep"), { recursive: true });
fs.writeFileSync(path.join(ws, "src/a.ts"), "const x = 1;\n// needle here\nconst y = 2;\n");
fs.writeFileSync(path.join(ws, "src/deep/b.md"), "Needle in markdown\nnothing\n");
fs.writeFileSync(path.join(ws, "notes.txt"), "a needle\n");
fs.writeFileSync(path.join(ws, "bin.dat"), Buffer.from([0, 1, 2, 110, 101, 101, 100, 108, 101]));
fs.symlinkSync(betaWs, path.join(ws, "src/to-beta"));
fs.symlinkSync(path.join(betaWs, "secret.txt"), path.join(ws, "beta-secret.txt"));

describe("file_search", () => {
  test("literal: path:line: text for each match; binaries skipped; links never followed", async () => {
    const r = await w.call("file_search", { pattern: "needle" }, alpha);
    expect(r.isError).toBe(false);
    expect(r.content.split("\n").slice(0, -1).sort()).toEqual(["notes.txt:1: a needle", "src/a.ts:2: // needle here"]);
    expect(r.content).not.toContain("BETA-SECRET");
    const ci = await w.call("file_search", { pattern: "needle", ignoreCase: true, glob: "*.md" }, alpha);
    expect(ci.content).toStartWith("src/deep/b.md:1: Needle in markdown\n");
    const under = await w.call("file_search", { pattern: "const", path: "src", glob: "src/**/*.ts" }, alpha);
    expect(under.content).toStartWith("src/a.ts:1: const x = 1;\nsrc/a.ts:3: const y = 2;\n2 match(es)");
  });

  test("a path that is a link, or outside the workspace, is refused", async () => {
    for (const p of ["src/to-beta", "../beta/workspace", "/etc"]) {
      const r = await w.call("file_search", { pattern: "needle", path: p }, alpha);
      expect({ p, isError: r.isError }).toEqual({ p, isError: true });
      expect(r.content).not.toContain("BETA-SECRET");
    }
  });

  test("maxResults bounds the matches and marks the output", async () => {
    fs.writeFileSync(path.join(ws, "many.txt"), "hit\n".repeat(500));
    const r = await w.call("file_search", { pattern: "hit", glob: "many.txt", maxResults: 7 }, alpha);
    expect(r.truncated).toBe(true);
    expect(r.content.split("\n").filter((l) => l.startsWith("many.txt:")).length).toBe(7);
    expect(r.content).toContain("stopped at 7 results");
  });

  test("regex: the safe subset works; catastrophic shapes are refused before running", async () => {
    const r = await w.call("file_search", { pattern: "const [xy] = \\d;", regex: true }, alpha);
    expect(r.content).toStartWith("src/a.ts:1: const x = 1;\nsrc/a.ts:3: const y = 2;\n");
    for (const [p, why] of [
      ["(a+)+$", "repeated group that itself repeats"],
      ["(a|aa)*b", "repeated group with alternatives"],
      ["(x)\\1", "backreference"],
      ["foo(?=bar)", "lookaround"],
      [".*.*.*x", "more than two long repeats"],
      ["a{0,1000}a{0,1000}a{0,1000}b", "more than two long repeats"],
      ["x".repeat(201), "200"],
      ["(", "not a valid regular expression"],
    ] as [string, string][]) {
      const res = await w.call("file_search", { pattern: p, regex: true }, alpha);
      expect({ p, isError: res.isError }).toEqual({ p, isError: true });
      expect(res.content).toContain(why);
    }
  });

  test("a hostile file cannot stall it: the worst allowed regex over long lines stays within the time budget", async () => {
    fs.mkdirSync(path.join(ws, "slow"));
    fs.writeFileSync(path.join(ws, "slow/long.txt"), `${"a".repeat(5000)}\n`.repeat(1000));
    const t0 = performance.now();
    // Meanwhile the gateway's event loop keeps turning (other tenants' requests are served).
    let ticks = 0;
    let worstGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
      ticks++;
    }, 5);
    const r = await w.call("file_search", { pattern: ".*.*x", regex: true, path: "slow" }, alpha);
    clearInterval(timer);
    const ms = performance.now() - t0;
    // Blocked, it would be no tick and one 5 s gap; the bounds leave room for a loaded machine.
    expect(ticks).toBeGreaterThan(20);
    expect(worstGap).toBeLessThan(1000);
    expect(r.isError).toBe(false);
    expect(r.content).toContain("time budget");
    expect(r.truncated).toBe(true);
    expect(ms).toBeLessThan(SEARCH_LIMITS.maxMillis + 4000);
  }, 30_000);
});
