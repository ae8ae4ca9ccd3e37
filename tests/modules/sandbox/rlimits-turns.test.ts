// Under the rlimits limiter every tenant's sandboxes share one uid's process count (RLIMIT_NPROC), so
// one tenant's processes would make another tenant's bwrap fail to start. Here the gateway is root
// and its sandboxes all run as uid 65534 — the shared identity — with `sandbox.limiter: "rlimits"`:
// a tenant's run is refused with RATE_LIMITED (never broken) while another tenant's runs are live,
// runs it after, and tenants take turns fairly. doctor and `sandbox status` say why loudly.
import { beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import { AppError } from "../../../src/core/errors.ts";
import { createTurns } from "../../../src/lib/fair-turns.ts";
import { createUidTurns, TURN_TTL_MS } from "../../../src/modules/sandbox/uid-turns.ts";
import { testApp, scope } from "../../helpers/core.ts";
import { ensureSandboxImage, MODES, sandboxWorld } from "../../helpers/sandbox.ts";

beforeAll(async () => {
  await ensureSandboxImage();
});

/** Tasks of a uid now (RLIMIT_NPROC counts them all: other sandboxes, zombies too). */
function tasksOf(uid: number): number {
  let n = 0;
  for (const pid of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
        const st = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
        if (new RegExp(`^Uid:\\s+${uid}\\s`, "m").test(st)) n++;
      }
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

/** The shared uid may hold 40 more tasks than it has now; the hog below takes them all. */
const rlimits = () => ({ sandbox: { limiter: "rlimits", limits: { pids: tasksOf(65534) + 40 } } });

/** A run that takes every process the shared uid may have, for a few seconds, then ends. */
const HOG = [
  "python3",
  "-c",
  `import os, time
n = 0
try:
    while n < 60:
        if os.fork() == 0:
            time.sleep(4)
            os._exit(0)
        n += 1
except OSError:
    pass
print("started", n, flush=True)
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
print("hog-done")`,
];

describe.if(process.getuid?.() === 0)("rlimits: one tenant's processes never break another tenant's sandboxes", () => {
  test("bwrap: while alpha holds processes, beta is refused with RATE_LIMITED (not a failed bwrap); beta runs once alpha is done", async () => {
    const w = sandboxWorld(MODES[0]!, rlimits());
    expect((await w.core.sandbox.status()).host.cgroups.limiter).toBe("rlimits");
    let seen!: () => void;
    const started = new Promise<void>((r) => (seen = r));
    const hog = w.core.sandbox.run({ tenant: scope("alpha"), command: HOG, origin: "rpc", onStdout: (c) => new TextDecoder().decode(c).includes("started") && seen() });
    await Promise.race([started, hog]);

    // Beta's run during alpha's: refused at once, saying when to retry — over RPC too.
    const refusal = await w.core.sandbox.run({ tenant: scope("beta"), command: ["/bin/sh", "-c", "echo beta ran"], origin: "rpc" }).then(
      (r) => ({ ran: true, exit: r.exitCode, stderr: r.stderr.trim().slice(0, 200) }),
      (err: AppError) => ({ code: err.code, retryAfter: err.headers?.["retry-after"] }),
    );
    expect(refusal).toEqual({ code: "RATE_LIMITED", retryAfter: "1" });
    const viaRpc = await testApp(w.core).rpc(w.beta, "sandbox.exec", { command: "/bin/sh", args: ["-c", "echo beta ran"] });
    expect({ code: viaRpc.error?.data?.code, retryAfterSeconds: viaRpc.error?.data?.retryAfterSeconds }).toEqual({ code: "RATE_LIMITED", retryAfterSeconds: 1 });
    // Alpha, holding the turn, may not start another run while beta waits for its turn.
    await expect(w.core.sandbox.run({ tenant: scope("alpha"), command: ["true"], origin: "rpc" })).rejects.toThrow("waiting for its turn");

    const a = await hog;
    expect(a.stdout).toContain("hog-done");
    // Beta's turn: it runs, whole.
    const b = await w.core.sandbox.run({ tenant: scope("beta"), command: ["/bin/sh", "-c", "echo beta ran"], origin: "rpc" });
    expect({ exit: b.exitCode, out: b.stdout, err: b.stderr }).toEqual({ exit: 0, out: "beta ran\n", err: "" });
    w.core.close();
  }, 90_000);

  test("doctor and sandbox status say that rlimits cannot keep tenants' process counts apart", async () => {
    const w = sandboxWorld(MODES[0]!, rlimits());
    const s = await w.core.sandbox.status({ refresh: true });
    expect(s.warnings.join(" ")).toContain("cannot keep tenants apart");
    const check = (await w.core.doctor.run()).find((c) => c.name === "sandbox limits")!;
    expect(check.status).toBe("warn");
    expect(check.detail).toContain("RLIMIT_NPROC counts per uid");
    w.core.close();
  }, 90_000);
});

describe("uid turns: the rule", () => {
  test("runs of one tenant share the turn; another tenant waits; the first refused goes first, the holder waits behind it", () => {
    let t = 0;
    const turns = createUidTurns(() => t);
    const a1 = turns.acquire("alpha", true);
    const a2 = turns.acquire("alpha", true); // its own runs may overlap
    expect(() => turns.acquire("beta", true)).toThrow("another tenant's sandbox runs are in progress");
    t += 100;
    expect(() => turns.acquire("gamma", false)).toThrow(); // a docker run shares the uid's count too
    expect(turns.waiting()).toEqual(["beta", "gamma"]);
    expect(() => turns.acquire("alpha", true)).toThrow("waiting for its turn");
    a1();
    a2();
    t += 100;
    expect(() => turns.acquire("gamma", false)).toThrow("waiting for its turn"); // beta asked first
    const b = turns.acquire("beta", true);
    expect(() => turns.acquire("gamma", false)).toThrow("in progress");
    b();
    turns.acquire("gamma", false)();
    expect(turns.waiting()).toEqual(["alpha"]);
  });

  test("a tenant that stops asking loses its place after the TTL; without rlimits runs never wait", () => {
    let t = 0;
    const turns = createUidTurns(() => t);
    const a = turns.acquire("alpha", true);
    expect(() => turns.acquire("beta", true)).toThrow();
    a();
    expect(() => turns.acquire("alpha", true)).toThrow("waiting for its turn");
    t += TURN_TTL_MS + 1;
    turns.acquire("alpha", true)();

    const plain = createUidTurns(() => t);
    const releases = ["alpha", "beta", "alpha", "gamma"].map((k) => plain.acquire(k, false));
    expect(plain.waiting()).toEqual([]);
    for (const r of releases) r();
  });

  test("fair turns keep their order", () => {
    let t = 0;
    const line = createTurns({ ttlMs: 1000, now: () => t });
    for (const k of ["c", "a", "b"]) {
      line.refused(k);
      t += 10;
    }
    line.refused("c"); // asking again keeps, not resets, its place
    expect(line.waiting()).toEqual(["c", "a", "b"]);
    expect([line.isFirst("c"), line.isFirst("a"), line.isFirst("z")]).toEqual([true, false, false]);
    line.served("c");
    expect(line.isFirst("a")).toBe(true);
  });

  test("callers refused in the same millisecond still keep their order (the clock does not tie them)", () => {
    const line = createTurns({ ttlMs: 1000, now: () => 5 });
    line.refused("beta");
    line.refused("gamma");
    expect(line.waiting()).toEqual(["beta", "gamma"]);
    expect([line.isFirst("beta"), line.isFirst("gamma")]).toEqual([true, false]);
  });
});
