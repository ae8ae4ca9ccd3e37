// file_search: literal and safe-regex matching, glob, bounds (results, time), catastrophic patterns
// refused, and a walk that never leaves the workspace through a planted link.
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { SEARCH_LIMITS } from "../../../../src/modules/agents/tools/file-search.ts";
import { ensureSandboxImage } from "../../../helpers/sandbox.ts";
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

  test("regex: grep -E results; what POSIX ERE cannot mean is refused with a clear error", async () => {
    const r = await w.call("file_search", { pattern: "const [xy] = \\d;", regex: true }, alpha);
    expect(r.content).toStartWith("src/a.ts:1: const x = 1;\nsrc/a.ts:3: const y = 2;\n2 match(es)");
    const alt = await w.call("file_search", { pattern: "^(a|//) n[e]+dle", regex: true, ignoreCase: true }, alpha);
    expect(alt.content.split("\n").slice(0, -1).sort()).toEqual(["notes.txt:1: a needle", "src/a.ts:2: // needle here"]);
    expect(alt.content).not.toContain("BETA-SECRET");
    for (const [p, why] of [
      ["(x)\\1", "backreference"],
      ["foo(?=bar)", "lookaround"],
      ["x".repeat(201), "200"],
      ["(", "not a valid regular expression"],
    ] as [string, string][]) {
      const res = await w.call("file_search", { pattern: p, regex: true }, alpha);
      expect({ p, isError: res.isError }).toEqual({ p, isError: true });
      expect(res.content).toContain(why);
    }
  });

  test("a glob is matched in linear time (no backtracking regex built from it)", async () => {
    fs.writeFileSync(path.join(ws, `${"a".repeat(200)}.txt`), "needle\n");
    const t0 = performance.now();
    const r = await w.call("file_search", { pattern: "needle", glob: `${"*a".repeat(60)}*b` }, alpha);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(r.content).toStartWith("no matches");
    const hit = await w.call("file_search", { pattern: "needle", glob: `${"*a".repeat(60)}*.txt` }, alpha);
    expect(hit.content).toContain(`${"a".repeat(200)}.txt:1: needle`);
  });

  // The red team's F1: tenant-chosen regular expressions with catastrophic backtracking. Each must come
  // back within the search's budget (plus a sandbox start) while the gateway's event loop keeps turning.
  for (const [name, pattern, line, matches] of [
    ["a{0,16} x10 then b", `${"a{0,16}".repeat(10)}b`, "a".repeat(60), 0],
    ["(a|aa)*b", "(a|aa)*b", "a".repeat(60), 0],
    ["(a+)+$ then a miss", "(a+)+x$", "a".repeat(60), 0],
    [".{0,16} chain", `${".{0,16}".repeat(12)}x`, "a".repeat(120), 0],
    ["\\w? x30 then \\w{30}b", `${"\\w?".repeat(30)}\\w{30}b`, "a".repeat(60), 0], // 31 s in JavaScript's engine
    ["\\w? x30 then \\w{30}, matching", `${"\\w?".repeat(30)}\\w{30}`, `${"a".repeat(30)}!`, 20],
  ] as [string, string, string, number][]) {
    test(`F1: a catastrophic regex (${name}) never stalls the gateway`, async () => {
      const dir = `redos-${name.replace(/[^a-z0-9]+/gi, "-")}`;
      fs.mkdirSync(path.join(ws, dir), { recursive: true });
      fs.writeFileSync(path.join(ws, dir, "f.txt"), `${line}\n`.repeat(50));
      let ticks = 0;
      let worstGap = 0;
      let last = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        worstGap = Math.max(worstGap, now - last);
        last = now;
        ticks++;
      }, 10);
      const t0 = performance.now();
      const r = await w.call("file_search", { pattern, regex: true, path: dir, maxResults: 20 }, alpha);
      const ms = performance.now() - t0;
      clearInterval(timer);
      worstGap = Math.max(worstGap, performance.now() - last);
      expect(worstGap).toBeLessThan(100 + 150); // >= 1 tick per 100 ms, with room for a loaded machine's timer
      expect(ms).toBeLessThan(SEARCH_LIMITS.maxMillis + 4000);
      expect(r.isError).toBe(false);
      expect(ticks).toBeGreaterThan(0);
      // And the answer is right: the matching lines (capped at maxResults), or none.
      expect(r.content.split("\n").filter((l) => l.startsWith(`${dir}/f.txt:`)).length).toBe(matches);
      if (matches > 0) expect(r.content).toContain(`${dir}/f.txt:1: ${line}\n`);
    }, 30_000);
  }

  test("a hostile file cannot stall it: long lines stay within the time budget", async () => {
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
    expect(ticks).toBeGreaterThan(0);
    expect(worstGap).toBeLessThan(1000);
    expect(r.isError).toBe(false);
    expect(r.content).toContain("no matches");
    expect(ms).toBeLessThan(SEARCH_LIMITS.maxMillis + 4000);
  }, 30_000);
});

describe("file_search regex in docker mode (busybox grep in the default image)", () => {
  test("same results, same refusals, and a catastrophic pattern still answers without stalling", async () => {
    await ensureSandboxImage();
    const d = toolWorld({ sandbox: { mode: "docker", allowedModes: ["bwrap", "docker"], docker: { runtime: "runc" } } });
    try {
      const dws = d.workspace("alpha");
      fs.writeFileSync(path.join(dws, "a.ts"), "const x = 1;\n// needle here\nconst y = 2;\n");
      fs.writeFileSync(path.join(dws, "long.txt"), `${"a".repeat(60)}\n`.repeat(50));
      const ctx = d.ctx("alpha", { sandboxMode: "docker" });
      const r = await d.call("file_search", { pattern: "const [xy] = \\d;", regex: true }, ctx);
      expect(r.content).toStartWith("a.ts:1: const x = 1;\na.ts:3: const y = 2;\n2 match(es)");
      const bad = await d.call("file_search", { pattern: "(", regex: true }, ctx);
      expect(bad).toMatchObject({ isError: true });
      expect(bad.content).toContain("not a valid regular expression");
      let worstGap = 0;
      let last = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        worstGap = Math.max(worstGap, now - last);
        last = now;
      }, 10);
      const t0 = performance.now();
      const slow = await d.call("file_search", { pattern: `${"a{0,16}".repeat(10)}b`, regex: true, glob: "long.txt" }, ctx);
      clearInterval(timer);
      expect(performance.now() - t0).toBeLessThan(SEARCH_LIMITS.maxMillis + 8000);
      expect(worstGap).toBeLessThan(250);
      expect(slow.isError).toBe(false);
      expect(slow.content).not.toContain("long.txt:");
      // busybox's regex engine is slow on this shape: the sandbox's timeout (the turn's 2 s left) ends it,
      // the answer says so, and the gateway kept serving meanwhile.
      fs.writeFileSync(path.join(dws, "big.txt"), `${"a".repeat(3000)}\n`.repeat(2000));
      worstGap = 0;
      last = performance.now();
      const timer2 = setInterval(() => {
        const now = performance.now();
        worstGap = Math.max(worstGap, now - last);
        last = now;
      }, 10);
      const t1 = performance.now();
      const capped = await d.call("file_search", { pattern: "(.*a){12}x", regex: true, glob: "big.txt" }, d.ctx("alpha", { sandboxMode: "docker", secondsLeft: 2 }));
      clearInterval(timer2);
      expect(performance.now() - t1).toBeLessThan(2000 + 8000);
      expect(worstGap).toBeLessThan(250);
      expect(capped).toMatchObject({ isError: false, truncated: true });
      expect(capped.content).toContain("the 2 s time budget");
    } finally {
      d.core.close();
    }
  }, 90_000);
});
