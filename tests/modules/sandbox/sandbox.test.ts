// Tenant sandboxes end to end: sandbox.exec over RPC, the workspace shared with files.*, timeouts that
// kill the whole tree, capped output, the mode and limit rules, per-tool egress in every mode, sandbox
// seconds, concurrency, the operator CLI, and the refusals of the self-test.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SandboxRunTable } from "../../../src/modules/sandbox/sandbox.sql.ts";
import { createTenant, makeHome, operatorCtx, testApp, testCore, scope } from "../../helpers/core.ts";
import { cli as runCli } from "../../helpers/cli.ts";
import { compileProbe, ensureSandboxImage, MODES, placeInWorkspace, sandboxWorld } from "../../helpers/sandbox.ts";
import { clientHello } from "../../helpers/tls.ts";

const ROOT = path.join(import.meta.dir, "..", "..", "..");

beforeAll(async () => {
  await ensureSandboxImage();
});

function noProcessWith(marker: string): boolean {
  const r = Bun.spawnSync(["pgrep", "-f", marker], { stdout: "pipe" });
  return r.stdout.toString().trim() === "";
}

describe("sandbox.exec over RPC (bwrap)", () => {
  const w = sandboxWorld(MODES[0]!);
  const { rpc } = testApp(w.core);
  afterAll(() => w.core.close());

  test("runs a command with args, stdin and env; returns exit code, output and resources", async () => {
    const r = await rpc(w.alpha, "sandbox.exec", { command: "/bin/sh", args: ["-c", 'read line; echo "got $line and $GREETING in $(pwd) as $(id -u)"; echo oops >&2; exit 7'], stdin: "hello\n", env: { GREETING: "hi" } });
    expect(r.error).toBeUndefined();
    expect(r.result).toMatchObject({ mode: "bwrap", exitCode: 7, signal: null, timedOut: false, stdout: "got hello and hi in /work as 65534\n", stderr: "oops\n", stdoutTruncated: false });
    expect(r.result.durationMs).toBeGreaterThan(0);
    expect(r.result.resources.limiter).toMatch(/^(cgroup-v2|cgroup-v1|rlimits)$/);
    expect(typeof r.result.runId).toBe("string");
  });

  test("sees nothing of the gateway's environment and only the gateway's fixed variables", async () => {
    process.env.OPENCLAW_TEST_SECRET = "must-not-leak";
    const r = await rpc(w.alpha, "sandbox.exec", { command: "env" });
    delete process.env.OPENCLAW_TEST_SECRET;
    const names = r.result.stdout.trim().split("\n").map((l: string) => l.split("=")[0]).sort();
    expect(names).toEqual(["HOME", "LANG", "PATH", "PWD", "TMPDIR"].filter((n) => names.includes(n)));
    expect(r.result.stdout).not.toContain("must-not-leak");
  });

  test("bad input is refused with the reason", async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ command: "true", env: { PATH: "/evil" } }, "INVALID_PARAMS", /set by the gateway/],
      [{ command: "true", env: { "BAD-NAME": "x" } }, "INVALID_PARAMS", /not allowed/],
      [{ command: "true", timeoutSeconds: 100000 }, "INVALID_PARAMS", /exceeds this tenant's limit/],
      [{ command: "true", mode: "docker", tool: "x" }, "FORBIDDEN", /./],
      [{ command: "true", tool: "nosuchtool" }, "FORBIDDEN", /no egress allowed/],
      [{ command: "true", stdin: "%%%", stdinEncoding: "base64" }, "INVALID_PARAMS", /base64/],
    ];
    for (const [params, code, message] of cases) {
      const r = await rpc(w.alpha, "sandbox.exec", params);
      expect({ params, code: r.error?.data?.code }).toEqual({ params, code });
      expect(r.error.message).toMatch(message);
    }
    const missing = await rpc(w.alpha, "sandbox.exec", { command: "/no/such/program" });
    expect(missing.result.exitCode).not.toBe(0);
  });

  test("the workspace is shared with files.*: written over RPC, read inside, and back", async () => {
    await rpc(w.alpha, "files.write", { path: "in/data.txt", content: "from rpc\n", mkdirs: true });
    const r = await rpc(w.alpha, "sandbox.exec", { command: "/bin/sh", args: ["-c", "cat in/data.txt; echo made-inside > in/out.txt"] });
    expect(r.result.stdout).toBe("from rpc\n");
    expect((await rpc(w.alpha, "files.read", { path: "in/out.txt" })).result.content).toBe("made-inside\n");
    // The other tenant's workspace is a different directory.
    const b = await rpc(w.beta, "sandbox.exec", { command: "/bin/sh", args: ["-c", "ls -A /work"] });
    expect(b.result.stdout).toBe("");
  });

  test("a timeout kills the whole process tree", async () => {
    const marker = `${Math.floor(Math.random() * 1e6)}.424242`;
    const r = await rpc(w.alpha, "sandbox.exec", { command: "/bin/sh", args: ["-c", `sleep ${marker} & sleep ${marker} & (sleep ${marker}; echo never) & echo started; wait`], timeoutSeconds: 1 });
    expect(r.result).toMatchObject({ timedOut: true, signal: "SIGKILL", stdout: "started\n" });
    expect(r.result.durationMs).toBeLessThan(5000);
    await Bun.sleep(200);
    expect(noProcessWith(`sleep ${marker}`)).toBe(true);
  });

  test("output is capped at the tenant's limit and flagged", async () => {
    w.core.overlays.set(scope("alpha"), { sandbox: { limits: { outputBytes: 1000 } } }, operatorCtx);
    const r = await rpc(w.alpha, "sandbox.exec", { command: "/bin/sh", args: ["-c", "i=0; while [ $i -lt 500 ]; do echo 0123456789; i=$((i+1)); done; echo done >&2"] });
    expect(r.result.stdout.length).toBe(1000);
    expect(r.result.stdoutTruncated).toBe(true);
    expect(r.result).toMatchObject({ stderr: "done\n", stderrTruncated: false, exitCode: 0 });
    w.core.overlays.set(scope("alpha"), {}, operatorCtx);
  });

  test("binary output comes back intact in base64", async () => {
    const r = await rpc(w.alpha, "sandbox.exec", { command: "/bin/sh", args: ["-c", "printf '\\000\\377\\001'"], encoding: "base64" });
    expect(Buffer.from(r.result.stdout, "base64")).toEqual(Buffer.from([0, 255, 1]));
  });

  test("sandbox seconds are recorded per tenant and shown in sandbox.info", async () => {
    const before = w.core.sandbox.seconds(scope("beta")).runs;
    await rpc(w.beta, "sandbox.exec", { command: "sleep", args: ["0.3"] });
    const after = w.core.sandbox.seconds(scope("beta"));
    expect(after.runs).toBe(before + 1);
    expect(after.seconds).toBeGreaterThanOrEqual(0.3);
    const rows = w.core.handle.db.select().from(SandboxRunTable).all().filter((r) => r.tenantId === "beta");
    expect(rows.at(-1)).toMatchObject({ mode: "bwrap", origin: "rpc", exitCode: 0, timedOut: false });
    const info = await rpc(w.beta, "sandbox.info", {});
    expect(info.result).toMatchObject({ mode: "bwrap", allowedModes: ["bwrap", "docker"], today: { runs: after.runs } });
    expect(info.result.limits).toMatchObject({ memoryMb: 512, timeoutSeconds: 60 });
    const usage = await rpc(w.beta, "tenants.usage", {});
    expect(usage.result.sandbox.today.runs).toBe(after.runs);
    expect(usage.result.sandbox.month.seconds).toBeGreaterThanOrEqual(0.3);
  });
});

describe("modes and limits", () => {
  test("mode: gateway default → tenant overlay (only among allowed modes) → per call", async () => {
    const onlyBwrap = testCore({ config: { sandbox: { mode: "bwrap", allowedModes: ["bwrap"] } } });
    const t = createTenant(onlyBwrap, "acme");
    expect(() => onlyBwrap.overlays.set(scope("acme"), { sandbox: { mode: "docker" } }, operatorCtx)).toThrow('"docker" is not allowed by the gateway');
    const r = await testApp(onlyBwrap).rpc(t, "sandbox.exec", { command: "true", mode: "docker" });
    expect(r.error.data.code).toBe("FORBIDDEN");
    expect(r.error.message).toContain('sandbox mode "docker" is not allowed by the gateway (allowed: bwrap)');
    onlyBwrap.close();

    const both = sandboxWorld(MODES[0]!);
    both.core.overlays.set(scope("alpha"), { sandbox: { mode: "docker" } }, operatorCtx);
    const { rpc } = testApp(both.core);
    expect((await rpc(both.alpha, "sandbox.exec", { command: "true" })).result.mode).toBe("docker");
    expect((await rpc(both.alpha, "sandbox.exec", { command: "true", mode: "bwrap" })).result.mode).toBe("bwrap");
    expect((await rpc(both.beta, "sandbox.exec", { command: "true" })).result.mode).toBe("bwrap");
    both.core.close();
  });

  test("limits: the overlay may only lower the admin's ceilings", async () => {
    const w = sandboxWorld(MODES[0]!, { sandbox: { limits: { memoryMb: 256, timeoutSeconds: 30 } } });
    expect(() => w.core.overlays.set(scope("alpha"), { sandbox: { limits: { memoryMb: 1024 } } }, operatorCtx)).toThrow("exceeds the gateway's ceiling of 256");
    expect(() => w.core.overlays.set(scope("alpha"), { sandbox: { limits: { pids: 100000 } } }, operatorCtx)).toThrow("exceeds the gateway's ceiling");
    w.core.overlays.set(scope("alpha"), { sandbox: { limits: { memoryMb: 64, timeoutSeconds: 5 } } }, operatorCtx);
    expect(w.core.sandbox.info(scope("alpha")).limits).toMatchObject({ memoryMb: 64, timeoutSeconds: 5, pids: 256 });
    expect(w.core.sandbox.info(scope("beta")).limits).toMatchObject({ memoryMb: 256, timeoutSeconds: 30 });
    await expect(w.core.sandbox.run({ tenant: scope("alpha"), command: ["true"], timeoutSeconds: 6, origin: "rpc" })).rejects.toThrow("exceeds this tenant's limit of 5");
    // The lowered memory limit is what the run gets: touching 1 GiB ends in the OOM kill at 64 MiB.
    placeInWorkspace(w, "alpha", compileProbe(), "probe");
    const r = await w.core.sandbox.run({ tenant: scope("alpha"), command: ["/work/probe", "/", "/", "127.0.0.1", "1", "1", "localhost", "1", "memory-bomb"], origin: "rpc" });
    expect(r.stdout).not.toContain("memory-bomb open");
    if (r.resources.limiter !== "rlimits") expect(r.resources.memoryPeakBytes).toBeLessThanOrEqual(64 * 1024 * 1024);
    w.core.close();
  });

  test("concurrency per tenant is capped; a suspended tenant cannot run anything", async () => {
    const w = sandboxWorld(MODES[0]!, { sandbox: { maxConcurrentPerTenant: 1 } });
    const long = w.core.sandbox.run({ tenant: scope("alpha"), command: ["sleep", "1"], origin: "rpc" });
    await Bun.sleep(100);
    await expect(w.core.sandbox.run({ tenant: scope("alpha"), command: ["true"], origin: "rpc" })).rejects.toThrow("sandbox runs in progress");
    expect((await w.core.sandbox.run({ tenant: scope("beta"), command: ["true"], origin: "rpc" })).exitCode).toBe(0);
    expect((await long).exitCode).toBe(0);
    expect((await w.core.sandbox.run({ tenant: scope("alpha"), command: ["true"], origin: "rpc" })).exitCode).toBe(0);
    w.core.tenants.suspend(scope("beta"), operatorCtx);
    await expect(w.core.sandbox.run({ tenant: scope("beta"), command: ["true"], origin: "rpc" })).rejects.toThrow("suspended");
    w.core.close();
  });
});

describe("the same contract in docker and gVisor", () => {
  for (const m of MODES.slice(1)) {
    test(`${m.label}: output, exit code, stdin, workspace, timeout`, async () => {
      const w = sandboxWorld(m);
      const r = await w.core.sandbox.run({ tenant: scope("alpha"), command: ["/bin/sh", "-c", "read x; echo $x > f.txt; cat f.txt; id -u; exit 3"], stdin: Buffer.from("piped\n"), origin: "rpc" });
      expect(r).toMatchObject({ mode: "docker", runtime: m.runtime, exitCode: 3, stdout: "piped\n65534\n", timedOut: false, resources: { limiter: "docker" } });
      expect(new TextDecoder().decode(w.core.files.read(scope("alpha"), "f.txt").bytes)).toBe("piped\n");
      const marker = `${Math.floor(Math.random() * 1e6)}.515151`;
      const t = await w.core.sandbox.run({ tenant: scope("alpha"), command: ["/bin/sh", "-c", `sleep ${marker} & sleep ${marker}`], timeoutSeconds: 2, origin: "rpc" });
      expect(t).toMatchObject({ timedOut: true, signal: "SIGKILL" });
      await Bun.sleep(500);
      expect(noProcessWith(`sleep ${marker}`)).toBe(true);
      const ps = Bun.spawnSync(["docker", "ps", "-q", "--filter", `label=openclaw.home=${w.core.sandbox.homeLabel}`], { stdout: "pipe" });
      expect(ps.stdout.toString().trim()).toBe("");
      w.core.close();
    }, 60_000);
  }
});

describe("overlay mounts", () => {
  for (const m of MODES.slice(0, 2)) {
    test(`${m.label}: a tenant directory mounted read-only under /mnt; a mount leading outside is refused`, async () => {
      const w = sandboxWorld(m);
      const plugins = path.join(w.core.tenants.dir(scope("alpha")), "plugins");
      fs.writeFileSync(path.join(plugins, "tool.txt"), "plugin code\n");
      fs.chmodSync(plugins, 0o755);
      fs.chmodSync(path.join(plugins, "tool.txt"), 0o644);
      w.core.overlays.set(scope("alpha"), { sandbox: { mounts: [{ source: "plugins", target: "/mnt/plugins" }] } }, operatorCtx);
      const r = await w.core.sandbox.run({ tenant: scope("alpha"), command: ["/bin/sh", "-c", "cat /mnt/plugins/tool.txt; echo x > /mnt/plugins/new.txt || echo read-only"], origin: "rpc" });
      expect(r.stdout).toBe("plugin code\nread-only\n");
      expect(fs.existsSync(path.join(plugins, "new.txt"))).toBe(false);
      fs.symlinkSync("/etc", path.join(w.core.tenants.dir(scope("alpha")), "etc-link"));
      expect(() => w.core.overlays.set(scope("alpha"), { sandbox: { mounts: [{ source: "etc-link", target: "/mnt/etc" }] } }, operatorCtx)).toThrow("leads outside the tenant root");
      expect(() => w.core.overlays.set(scope("alpha"), { sandbox: { mounts: [{ source: "../beta", target: "/mnt/b" }] } }, operatorCtx)).toThrow('contains ".."');
      // The workspace is what sandboxes can change: a link planted there must never aim a later bind.
      fs.mkdirSync(path.join(w.workspace("alpha"), "sub"), { recursive: true });
      expect(() => w.core.overlays.set(scope("alpha"), { sandbox: { mounts: [{ source: "workspace/sub", target: "/mnt/sub" }] } }, operatorCtx)).toThrow("is in the workspace, which sandboxes can change");
      expect(() => w.core.overlays.set(scope("alpha"), { sandbox: { mounts: [{ source: "plugins", target: "/mnt/plugins", readOnly: false }] } }, operatorCtx)).toThrow("sandbox mounts are read-only");
      w.core.close();
    }, 30_000);
  }
});

describe("egress per tool, in every mode", () => {
  let web: { port: number; stop(force: boolean): void };
  let tunnel: Bun.TCPSocketListener<undefined>;
  const tunnelGot: Buffer[] = [];
  beforeAll(() => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => new Response(`hello from upstream, path ${new URL(req.url).pathname}, host ${req.headers.get("host")}`) });
    web = { port: server.port!, stop: (f) => void server.stop(f) };
    tunnel = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (_s, d) => void tunnelGot.push(Buffer.from(d)) } });
  });
  afterAll(() => {
    web.stop(true);
    tunnel.stop(true);
  });

  for (const m of MODES) {
    test(`${m.label}: no network without a tool; the opted-in tool reaches only its entries; SNI must match`, async () => {
      // localhost is 127.0.0.1, ::1 or both, depending on the machine's /etc/hosts: allow both.
      const w = sandboxWorld(m, { sandbox: { egress: { tools: { web: ["localhost:*"], other: ["example.org:443"] }, allowPrivate: ["127.0.0.1/32", "::1/128"] } } });
      w.core.overlays.set(scope("alpha"), { tools: { egress: { web: [`localhost:${web.port}`, `localhost:${tunnel.port}`] } } }, operatorCtx);
      expect(() => w.core.overlays.set(scope("beta"), { tools: { egress: { web: ["evil.example:443"] } } }, operatorCtx)).toThrow("outside the gateway's egress ceiling");
      // busybox's wget in every mode (the host's may be GNU wget); its -T option crashes, so none.
      const get = (url: string) => `busybox wget -q -O - ${url} 2>&1; echo " rc=$?"`;

      const none = await w.core.sandbox.run({ tenant: scope("alpha"), command: ["/bin/sh", "-c", get(`http://localhost:${web.port}/x`)], origin: "rpc" });
      expect(none.stdout).not.toContain("hello from upstream");
      expect(none.egress).toEqual({ allowed: 0, refused: 0 });

      const ok = await w.core.sandbox.run({ tenant: scope("alpha"), tool: "web", command: ["/bin/sh", "-c", `${get(`http://localhost:${web.port}/x`)}; ${get(`http://127.0.0.1:${web.port + 1}/y`)}`], origin: "rpc" });
      expect(ok.stdout).toContain(`hello from upstream, path /x, host localhost:${web.port}`);
      expect(ok.stdout).toMatch(/403 Forbidden/);
      expect(ok.egress).toEqual({ allowed: 1, refused: 1 });

      // A tool the tenant has not opted into gives nothing, even with an admin ceiling.
      const other = await w.core.sandbox.run({ tenant: scope("alpha"), tool: "other", command: ["/bin/sh", "-c", get(`http://localhost:${web.port}/x`)], origin: "rpc" });
      expect(other.stdout).not.toContain("hello from upstream");

      // CONNECT through the in-sandbox bridge with a hand-made ClientHello: the right SNI passes, another is cut.
      placeInWorkspace(w, "alpha", writeTemp(clientHello("localhost")), "good.hello", 0o644);
      placeInWorkspace(w, "alpha", writeTemp(clientHello("evil.example")), "bad.hello", 0o644);
      const connect = (file: string) => `(printf 'CONNECT localhost:${tunnel.port} HTTP/1.1\\r\\n\\r\\n'; sleep 1; cat ${file}; sleep 1) | busybox nc 127.0.0.1 3128 | head -c 40; echo`;
      tunnelGot.length = 0;
      const good = await w.core.sandbox.run({ tenant: scope("alpha"), tool: "web", command: ["/bin/sh", "-c", connect("good.hello")], origin: "rpc" });
      expect(good.stdout).toContain("200 Connection Established");
      await Bun.sleep(100);
      expect(Buffer.concat(tunnelGot).includes(Buffer.from("localhost"))).toBe(true);
      tunnelGot.length = 0;
      const bad = await w.core.sandbox.run({ tenant: scope("alpha"), tool: "web", command: ["/bin/sh", "-c", connect("bad.hello")], origin: "rpc" });
      expect(bad.egress).toEqual({ allowed: 0, refused: 1 });
      await Bun.sleep(100);
      expect(tunnelGot.length).toBe(0);

      const row = w.core.handle.db.select().from(SandboxRunTable).all().find((r) => r.id === ok.runId);
      expect(row).toMatchObject({ egressAllowed: 1, egressRefused: 1 });
      expect(w.core.sandbox.egressCounts(scope("alpha"))).toMatchObject({ allowed: 2, refused: 2 });
      w.core.close();
    }, 90_000);
  }
});

function writeTemp(bytes: Uint8Array): string {
  const p = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hello-")), "hello.bin");
  fs.writeFileSync(p, bytes);
  return p;
}

describe("openclaw sandbox exec (operator CLI)", () => {
  const cli = (home: string, args: string[], stdin?: string) => runCli(home, args, { stdin });

  test("streams output and exits with the command's code, 128 + signal when killed", async () => {
    const home = makeHome();
    await cli(home, ["tenants", "create", "acme"]);
    expect(await cli(home, ["sandbox", "exec", "--tenant", "acme", "--", "sh", "-c", "echo out; echo err >&2; exit 5"])).toMatchObject({ code: 5, out: "out\n", err: "err\n" });
    expect((await cli(home, ["sandbox", "exec", "--tenant", "acme", "--", "sh", "-c", "kill -9 $$"])).code).toBe(137);
    expect((await cli(home, ["sandbox", "exec", "--tenant", "acme", "--", "cat"], "piped in")).out).toBe("piped in");
    const json = JSON.parse((await cli(home, ["sandbox", "exec", "--tenant", "acme", "--json", "--env", "A=1", "--env", "B=2", "--", "sh", "-c", "echo $A$B"])).out);
    expect(json).toMatchObject({ exitCode: 0, stdout: "12\n", mode: "bwrap" });
    const timeout = await cli(home, ["sandbox", "exec", "--tenant", "acme", "--timeout", "1", "--", "sleep", "30"]);
    expect(timeout.code).toBe(137);
    expect(timeout.err).toContain("timeout");
  });

  test("killing the process that started a sandbox kills the sandbox (bwrap --die-with-parent)", async () => {
    const home = makeHome();
    await cli(home, ["tenants", "create", "acme"]);
    const marker = `${Math.floor(Math.random() * 1e6)}.777`;
    const p = Bun.spawn(["bun", "src/main.ts", "sandbox", "exec", "--tenant", "acme", "--", "sh", "-c", `sleep ${marker} & sleep ${marker}`], { cwd: ROOT, env: { PATH: process.env.PATH!, OPENCLAW_HOME: home }, stdout: "ignore", stderr: "ignore" });
    for (let i = 0; i < 50 && noProcessWith(`sleep ${marker}`); i++) await Bun.sleep(100);
    expect(noProcessWith(`sleep ${marker}`)).toBe(false);
    p.kill("SIGKILL");
    await p.exited;
    for (let i = 0; i < 30 && !noProcessWith(`sleep ${marker}`); i++) await Bun.sleep(100);
    expect(noProcessWith(`sleep ${marker}`)).toBe(true);
  }, 20_000);

  test("--allow gives the operator's run exactly those entries; bad input is one line", async () => {
    const home = makeHome();
    await cli(home, ["tenants", "create", "acme"]);
    expect((await cli(home, ["sandbox", "exec", "--tenant", "acme", "--allow", "*.com:443", "--", "true"])).err.trim()).toBe('openclaw: --allow "*.com:443": a wildcard needs at least two labels after "*." (e.g. *.example.com)');
    expect((await cli(home, ["sandbox", "exec", "--tenant", "acme"])).err).toContain("give the command after --");
    expect((await cli(home, ["sandbox", "exec", "--tenant", "ghost", "--", "true"])).err.trim()).toBe('openclaw: tenant "ghost" not found');
    expect((await cli(home, ["sandbox", "exec", "--tenant", "acme", "--mode", "vm", "--", "true"])).err).toContain("--mode must be bwrap or docker");
  });
});

describe("limiters", () => {
  test("rlimits (sandbox.limiter: rlimits): processes, memory and CPU still bounded; a limiter the host lacks is refused", async () => {
    const w = sandboxWorld(MODES[0]!, { sandbox: { limiter: "rlimits", limits: { pids: 64, memoryMb: 256 } } });
    const ok = await w.core.sandbox.run({ tenant: scope("alpha"), command: ["/bin/sh", "-c", "echo fine"], origin: "rpc" });
    expect(ok).toMatchObject({ exitCode: 0, stdout: "fine\n", resources: { limiter: "rlimits" } });
    placeInWorkspace(w, "alpha", compileProbe(), "probe");
    for (const probe of ["fork-bomb", "memory-bomb"]) {
      const r = await w.core.sandbox.run({ tenant: scope("alpha"), command: ["/work/probe", "/", "/", "127.0.0.1", "1", "1", "localhost", "1", probe], origin: "rpc" });
      expect({ probe, open: r.stdout.includes(`${probe} open`) }).toEqual({ probe, open: false });
    }
    w.core.close();
    const host = (await sandboxWorld(MODES[0]!).core.sandbox.status()).host.cgroups.limiter;
    const other = host === "cgroup-v2" ? "cgroup-v1" : "cgroup-v2";
    const forced = sandboxWorld(MODES[0]!, { sandbox: { limiter: other } });
    await expect(forced.core.sandbox.run({ tenant: scope("alpha"), command: ["true"], origin: "rpc" })).rejects.toThrow(`sandbox.limiter is ${other}, but this host offers`);
    forced.core.close();
  }, 60_000);
});

describe("openclaw sandbox image build", () => {
  test("builds a runnable image locally, usable by the non-root sandbox user, with busybox and the C library", async () => {
    const home = makeHome();
    const tag = `openclaw-sandbox-test:${Date.now()}`;
    const r = await runCli(home, ["sandbox", "image", "build", "--tag", tag, "--json"]);
    expect(r.code).toBe(0);
    const built = JSON.parse(r.out);
    expect(built.tag).toBe(tag);
    expect(built.id).toStartWith("sha256:");
    try {
      const run = Bun.spawnSync(["docker", "run", "--rm", "--user", "65534:65534", "--init", tag, "/bin/sh", "-c", "id -u; stat -c %a /tmp /bin /sbin/.. ; ls /lib*/ | grep -c 'libc.so'"], { stdout: "pipe", stderr: "pipe" });
      expect(run.stderr.toString()).toBe("");
      expect(run.stdout.toString().split("\n").slice(0, 4)).toEqual(["65534", "1777", "755", "755"]);
    } finally {
      Bun.spawnSync(["docker", "rmi", "-f", tag], { stdout: "ignore", stderr: "ignore" });
    }
  }, 60_000);
});

describe("self-test refusals", () => {
  function fakeBwrap(script: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-bwrap-"));
    fs.chmodSync(dir, 0o755); // the sandbox uid runs it when the gateway is root
    fs.writeFileSync(path.join(dir, "bwrap"), `#!/bin/sh\n${script}\n`);
    fs.chmodSync(path.join(dir, "bwrap"), 0o755);
    return dir;
  }
  async function statusWith(dir: string) {
    const saved = process.env.PATH;
    process.env.PATH = `${dir}:${saved}`;
    try {
      const core = testCore();
      createTenant(core, "acme");
      const s = await core.sandbox.status({ refresh: true });
      const run = core.sandbox.run({ tenant: scope("acme"), command: ["true"], origin: "rpc" }).then(
        () => "ran",
        (err: Error) => err.message,
      );
      const message = await run;
      core.close();
      return { reason: s.modes.bwrap.reason, message };
    } finally {
      process.env.PATH = saved;
    }
  }

  test("a bwrap without --disable-userns is refused, with the reason", async () => {
    const r = await statusWith(fakeBwrap(`case "$1" in --version) echo "bubblewrap 0.7.0";; --help) echo "usage: bwrap [--unshare-user]";; esac`));
    expect(r.reason).toBe("bwrap 0.7.0 lacks --disable-userns (0.8.0 or later is required)");
    expect(r.message).toBe('sandbox mode "bwrap" is unavailable on this host: bwrap 0.7.0 lacks --disable-userns (0.8.0 or later is required)');
  });

  test("where user namespaces cannot be created, sandboxes are refused, with bwrap's reason", async () => {
    const r = await statusWith(fakeBwrap(`case "$1" in --version) echo "bubblewrap 0.8.0";; --help) echo "--disable-userns";; *) echo "bwrap: No permissions to create new namespace, likely because the kernel does not allow non-privileged user namespaces" >&2; exit 1;; esac`));
    expect(r.reason).toContain("No permissions to create new namespace");
    expect(r.message).toContain('sandbox mode "bwrap" is unavailable on this host: a test sandbox did not run');
  });
});
