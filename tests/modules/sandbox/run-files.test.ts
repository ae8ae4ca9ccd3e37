// A docker run's variables never outlive it on disk (red team 11 #13): the --env-file has no name
// while the run lives, so a process killed mid-run (kill -9) leaves nothing in <home>/run; and what
// older or dead processes left there (`<run>.env`, `<pid>-<run>.env.sh`) is removed when the next
// one starts, while a live process's files stay.
import { beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { allFiles, testCore, scope } from "../../helpers/core.ts";
import { ensureSandboxImage, sandboxWorld } from "../../helpers/sandbox.ts";

const ROOT = path.join(import.meta.dir, "../../..");

beforeAll(async () => {
  await ensureSandboxImage();
});

/** Files under the home's run directory whose bytes contain `marker`. */
function holding(home: string, marker: string): string[] {
  const dir = path.join(home, "run");
  if (!fs.existsSync(dir)) return [];
  return allFiles(dir).filter((f) => {
    try {
      return fs.readFileSync(f).includes(marker);
    } catch {
      return false;
    }
  });
}

/** A pid no process has now. */
function deadPid(): number {
  for (let pid = 4_000_000; ; pid--) {
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ESRCH") return pid;
    }
  }
}

describe("a docker run's variables on disk", () => {
  test("while the run lives, no file in <home>/run holds them; the container gets them", async () => {
    const w = sandboxWorld({ label: "docker", mode: "docker", runtime: "runc" });
    const marker = `secret-${Math.random().toString(36).slice(2)}`;
    const run = w.core.sandbox.run({ tenant: scope("alpha"), command: ["/bin/sh", "-c", "sleep 2; echo $SECRET"], env: { SECRET: marker }, origin: "rpc" });
    let seen: string[] = [];
    for (let i = 0; i < 30; i++) {
      await Bun.sleep(50);
      seen = [...new Set([...seen, ...holding(w.core.home, marker)])];
    }
    const r = await run;
    expect({ exit: r.exitCode, out: r.stdout }).toEqual({ exit: 0, out: `${marker}\n` });
    expect(seen).toEqual([]);
    w.core.close();
  }, 60_000);

  test("a CLI killed with SIGKILL mid-run leaves none behind, before and after the next start", async () => {
    const w = sandboxWorld({ label: "docker", mode: "docker", runtime: "runc" });
    const marker = `secret-${Math.random().toString(36).slice(2)}`;
    const cli = Bun.spawn(["bun", "src/main.ts", "sandbox", "exec", "--tenant", "alpha", "--mode", "docker", "--env", `SECRET=${marker}`, "--", "/bin/sh", "-c", "echo started; sleep 30"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH!, OPENCLAW_HOME: w.core.home },
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = (cli.stdout as ReadableStream<Uint8Array>).getReader();
    let out = "";
    while (!out.includes("started")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    expect(out).toContain("started");
    cli.kill("SIGKILL");
    await cli.exited;
    expect(holding(w.core.home, marker)).toEqual([]);
    const next = testCore({ home: w.core.home });
    expect(await next.sandbox.reapOrphans()).toBe(1); // the container a dead process left running
    expect(holding(w.core.home, marker)).toEqual([]);
    next.close();
    w.core.close();
  }, 60_000);

  test("what dead or older processes left is removed at start; a live process's files and anything else stay", () => {
    const w = sandboxWorld({ label: "docker", mode: "docker", runtime: "runc" });
    const run = path.join(w.core.home, "run");
    fs.mkdirSync(run, { recursive: true, mode: 0o700 });
    const dead = deadPid();
    const leftovers = [`${dead}-Ab3dEf9hIj0k.env`, `${dead}-Ab3dEf9hIj0k.env.sh`, "Zx8yWv7uTs6r.env", "Zx8yWv7uTs6r.env.sh"];
    const kept = [`${process.pid}-Live0run0000.env.sh`, "docker-seccomp-0123456789ab.json", "notes.env.bak"];
    for (const n of [...leftovers, ...kept]) fs.writeFileSync(path.join(run, n), "SECRET=left\n", { mode: 0o600 });
    const next = testCore({ home: w.core.home });
    expect(fs.readdirSync(run).sort()).toEqual(kept.sort());
    next.close();
    w.core.close();
  });
});
