// exec: the tenant's sandbox with its limits; output capped and marked; no network without the exec
// allow-list; the turn's seconds bound the timeout; an aborted run ends its sandbox process promptly.
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { scope } from "../../../helpers/core.ts";
import { toolWorld } from "./world.ts";

const w = toolWorld({ sandbox: { mode: "bwrap", allowedModes: ["bwrap"] } });
afterAll(() => w.core.close());
const alpha = w.ctx("alpha");

function noProcessWith(marker: string): boolean {
  const r = Bun.spawnSync(["pgrep", "-f", marker], { stdout: "pipe" });
  return r.stdout.toString().trim() === "";
}

describe("exec", () => {
  test("argv or a shell line, with stdin; exit code, stdout and stderr", async () => {
    const r = await w.call("exec", { command: ["/bin/sh", "-c", "read l; echo got $l in $(pwd); echo oops >&2"], stdin: "hello\n" }, alpha);
    expect(r).toEqual({ content: "exit code: 0\nstdout:\ngot hello in /work\n\nstderr:\noops\n", isError: false, truncated: false });
    const bad = await w.call("exec", { command: "echo out; exit 3" }, alpha);
    expect(bad).toMatchObject({ isError: true, content: "exit code: 3\nstdout:\nout\n" });
  });

  test("runs in the tenant's own workspace: files written there are the file tools' files", async () => {
    await w.call("exec", { command: "echo from-sandbox > made.txt" }, alpha);
    expect((await w.call("file_read", { path: "made.txt" }, alpha)).content).toBe("from-sandbox");
    const beta = await w.call("exec", { command: "cat made.txt; ls /work" }, w.ctx("beta"));
    expect(beta.content).not.toContain("from-sandbox");
  });

  test("long output is capped at maxOutputBytes and marked", async () => {
    const r = await w.call("exec", { command: "head -c 100000 /dev/zero | tr '\\0' 'a'; echo; echo err >&2" }, w.ctx("alpha", { maxOutputBytes: 2000 }));
    expect(r.truncated).toBe(true);
    expect(Buffer.byteLength(r.content)).toBeLessThanOrEqual(2000);
    expect(r.content).toContain("[output truncated: 100001 bytes in all]");
    expect(r.content).toContain("stderr:\nerr");
  });

  test("injection: a network call with no exec allow-list fails; nothing leaves the sandbox", async () => {
    let hits = 0;
    const server = Bun.serve({ hostname: "0.0.0.0", port: 0, fetch: () => (hits++, new Response("reached")) });
    try {
      const r = await w.call("exec", { command: `busybox wget -q -O - http://127.0.0.1:${server.port}/ 2>&1; busybox wget -q -O - http://1.1.1.1/ 2>&1; echo rc=$?` }, alpha);
      expect(r.content).not.toContain("reached");
      expect(r.content).toMatch(/rc=[1-9]/);
      expect(hits).toBe(0);
      // Control: the host itself reaches the server, so the zero above is the sandbox's doing.
      expect(await (await fetch(`http://127.0.0.1:${server.port}/`)).text()).toBe("reached");
      expect(hits).toBe(1);
    } finally {
      server.stop(true);
    }
  }, 30_000);

  test("the timeout is at most the seconds left in the turn", async () => {
    const t0 = performance.now();
    const r = await w.call("exec", { command: "sleep 20", timeoutSeconds: 30 }, w.ctx("alpha", { secondsLeft: 2 }));
    const s = (performance.now() - t0) / 1000;
    expect(r.isError).toBe(true);
    expect(r.content).toContain("killed: the 2 s timeout");
    expect(s).toBeLessThan(6);
    expect(await w.call("exec", { command: "true" }, w.ctx("alpha", { secondsLeft: 0.5 }))).toMatchObject({ isError: true, content: expect.stringContaining("no time is left") });
  }, 30_000);

  test("aborted by ctx.signal during a long exec: the sandbox process ends promptly", async () => {
    const marker = `${Math.floor(Math.random() * 1e6)}.4242`;
    const ac = new AbortController();
    const running = w.call("exec", { command: `sleep ${marker} & sleep ${marker}; echo never`, timeoutSeconds: 50 }, w.ctx("alpha", { signal: ac.signal }));
    for (let i = 0; i < 100 && noProcessWith(`sleep ${marker}`); i++) await Bun.sleep(50);
    expect(noProcessWith(`sleep ${marker}`)).toBe(false);
    const t0 = performance.now();
    ac.abort();
    const r = await running;
    const resultMs = performance.now() - t0;
    for (let i = 0; i < 40 && !noProcessWith(`sleep ${marker}`); i++) await Bun.sleep(25);
    const goneMs = performance.now() - t0;
    expect(noProcessWith(`sleep ${marker}`)).toBe(true);
    expect(r.isError).toBe(true);
    expect(r.content).toContain("killed: aborted");
    expect(r.content).not.toContain("never");
    // Measured: the result and the processes' end both well under a second after the abort.
    expect(resultMs).toBeLessThan(2000);
    expect(goneMs).toBeLessThan(2000);
    console.log(`exec abort: result after ${resultMs.toFixed(0)} ms, processes gone after ${goneMs.toFixed(0)} ms`);
    expect(w.core.sandbox.liveRuns(scope("alpha").tenantId)).toBe(0);
  }, 30_000);
});
