// Starting one run in a backend: bwrap (in a cgroup of its own, or under rlimits) or `docker run`
// (runc or gVisor), with the run's seccomp filter or profile, and the in-sandbox egress bridge when
// the run may reach anything. Knows nothing of tenants' policy: it is handed a finished LaunchSpec.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Environment } from "../../config/env.ts";
import type { GatewayConfig } from "../../config/schema.ts";
import { AppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import { isCompiledBinary } from "../../lib/worker.ts";
import { buildBwrapLaunch } from "./bwrap.ts";
import { createRunCgroup } from "./cgroups.ts";
import { buildDockerLaunch, dockerCliEnv } from "./docker.ts";
import type { HostProbe } from "./host.ts";
import { MOUNT_CHANGED } from "./mounts.ts";
import type { RunProcs } from "../disk/disk.service.ts";
import { runSandboxProcess, type RunnerOutput } from "./runner.ts";
import { cgroupProcs, dockerProcs, treeProcs } from "./run-procs.ts";
import { envScriptFile, openNamelessFile, sweepRunFiles } from "./run-files.ts";
import { BRIDGE_PORT, DEFAULT_IMAGE, EGRESS_SOCKET_IN_SANDBOX, type BridgeLaunch, type LaunchSpec, type RunResult, type SandboxMode, type SandboxRequest } from "./sandbox.types.ts";
import { dockerProfileText, filterBytes } from "./seccomp/policy.ts";

/** The docker backend of one run: the CLI, the image, the runtime, and whether that runtime is gVisor. */
export interface DockerTarget {
  path: string;
  image: string;
  runtime: string;
  gvisor: boolean;
}

export type LaunchOutput = RunnerOutput & { resources: RunResult["resources"] };

/** What the caller gives a launch: the request's streams and signal, and who wants the run's processes. */
export type LaunchIo = Partial<SandboxRequest> & { onProcs?(procs: RunProcs): void };

/** The operator's docker settings, with their defaults (the egress runtime: `<runtime>-egress` for gVisor). */
export function dockerSettings(c: GatewayConfig) {
  return {
    image: c.sandbox.docker?.image ?? DEFAULT_IMAGE,
    runtime: c.sandbox.docker?.runtime ?? "runc",
    egressRuntime: c.sandbox.docker?.egressRuntime ?? (c.sandbox.docker?.runtime && c.sandbox.docker.runtime !== "runc" ? `${c.sandbox.docker.runtime}-egress` : "runc"),
  };
}

/** How the in-sandbox egress bridge starts: the gateway binary in bridge mode, or bun and the source file. */
export function bridgeLaunch(): BridgeLaunch {
  const args = [String(BRIDGE_PORT), EGRESS_SOCKET_IN_SANDBOX];
  if (isCompiledBinary()) {
    return {
      mounts: [{ source: process.execPath, target: "/run/oc/openclaw", readOnly: true, kind: "file" }],
      argv: ["/run/oc/openclaw", "__egress-bridge", ...args],
      env: proxyEnv(),
    };
  }
  const script = fileURLToPath(new URL("./egress/bridge.ts", import.meta.url));
  return {
    mounts: [
      { source: process.execPath, target: "/run/oc/bun", readOnly: true, kind: "file" },
      { source: script, target: "/run/oc/egress-bridge.ts", readOnly: true, kind: "file" },
    ],
    argv: ["/run/oc/bun", "/run/oc/egress-bridge.ts", ...args],
    env: { ...proxyEnv(), BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" },
  };
}

function proxyEnv(): Record<string, string> {
  const url = `http://127.0.0.1:${BRIDGE_PORT}`;
  return { HTTP_PROXY: url, HTTPS_PROXY: url, ALL_PROXY: url, http_proxy: url, https_proxy: url, all_proxy: url };
}

/** The sandbox's own mount check stopped the run (only runs that have one: a command could print the same). */
export function mountChanged(spec: LaunchSpec, out: RunnerOutput): boolean {
  if (!spec.mountChecks?.length || out.exitCode !== 125) return false;
  return new TextDecoder().decode(out.stderr.subarray(0, MOUNT_CHANGED.length)) === MOUNT_CHANGED;
}

export function createLauncher(deps: { home: string; env: Environment; log: Logger }) {
  const { log } = deps;
  /** Labels this home's containers, so a later gateway can find those a crash left running. */
  const homeLabel = crypto.createHash("sha256").update(path.resolve(deps.home)).digest("hex").slice(0, 16);
  const runDir = path.join(deps.home, "run");
  const seccompFiles = new Map<string, string>();
  const cleanups = new Set<Promise<unknown>>();
  // A gateway (or CLI) that died mid-run left its runs' variables here: they go at start.
  sweepRunFiles(runDir, log);

  function privateRunDir(): string {
    fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
    return runDir;
  }

  function dockerProfileFile(host: HostProbe, gvisor: boolean): string {
    const key = gvisor ? "gvisor" : "runc";
    const known = seccompFiles.get(key);
    if (known && fs.existsSync(known)) return known;
    const text = dockerProfileText(host.arch!, { gvisor });
    const hash = crypto.createHash("sha256").update(text).digest("hex").slice(0, 12);
    const file = path.join(privateRunDir(), `docker-seccomp-${hash}.json`);
    fs.writeFileSync(file, text, { mode: 0o600 });
    seccompFiles.set(key, file);
    return file;
  }

  function createRunCgroupOrFail(host: HostProbe, spec: LaunchSpec) {
    try {
      return createRunCgroup(host.cgroups, spec.runId, { memoryBytes: spec.limits.memoryMb * 1024 * 1024, pids: spec.limits.pids, cpus: spec.limits.cpus });
    } catch (err) {
      throw new AppError("UNAVAILABLE", `cannot create the run's cgroup (${host.cgroups.limiter}): ${(err as Error).message}`);
    }
  }

  /**
   * Kills the run's container. Right after `docker run` starts, the container may not exist yet: while
   * the CLI still runs, the kill is tried again until it lands (or 15 s pass), so a run stopped early
   * never leaves its container running after the CLI is gone.
   */
  async function dockerKill(dockerPath: string, name: string, alive: () => boolean): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (true) {
      const p = Bun.spawn([dockerPath, "kill", name], { stdout: "ignore", stderr: "ignore", env: dockerCliEnv(deps.env.vars), cwd: "/" });
      if ((await p.exited) === 0 || !alive() || Date.now() > deadline) return;
      await Bun.sleep(100);
    }
  }

  async function launchBwrap(host: HostProbe, spec: LaunchSpec, io: LaunchIo): Promise<LaunchOutput> {
    const cgroup = host.cgroups.limiter === "rlimits" ? null : createRunCgroupOrFail(host, spec);
    try {
      const l = buildBwrapLaunch(spec, { bwrapPath: host.bwrap.path!, setprivPath: host.setprivPath, unsharePath: host.unsharePath, identity: host.identity, seccomp: filterBytes(host.arch!) }, cgroup);
      const out = await runSandboxProcess({
        argv: l.argv,
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
        extraFds: l.extraFds,
        stdin: io.stdin ?? null,
        stdinStream: io.stdinStream,
        timeoutMs: spec.limits.timeoutSeconds * 1000,
        outputBytes: spec.limits.outputBytes,
        killTree: () => cgroup?.kill(),
        onStdout: io.onStdout,
        onStderr: io.onStderr,
        terminal: io.terminal,
        signal: io.signal,
        onStart: (pid) => io.onProcs?.(cgroup ? cgroupProcs(cgroup.procsFiles[0]!) : treeProcs(pid)),
      });
      const stats = cgroup?.stats();
      return { ...out, resources: { limiter: host.cgroups.limiter, cpuMs: stats?.cpuMs, memoryPeakBytes: stats?.memoryPeakBytes, oomKilled: stats?.oomKilled } };
    } finally {
      // Removed in the background: the run's last processes may take a few ms to leave it.
      if (cgroup) {
        const removal = cgroup.remove().catch((err) => log.warn("could not remove a sandbox cgroup", { error: String(err) }));
        cleanups.add(removal);
        void removal.finally(() => cleanups.delete(removal));
      }
    }
  }

  async function launchDocker(host: HostProbe, docker: DockerTarget, spec: LaunchSpec, io: LaunchIo): Promise<LaunchOutput> {
    // The container's variables travel in private files, never in the CLI's environment: the
    // --env-file is a nameless file the CLI gets as its fd 3 (./run-files.ts).
    const files = { envFilePath: "/dev/fd/3", envScriptPath: envScriptFile(privateRunDir(), spec.runId) };
    const l = buildDockerLaunch(spec, { dockerPath: docker.path, image: docker.image, runtime: docker.runtime, seccompProfilePath: dockerProfileFile(host, docker.gvisor), identity: host.identity, homeLabel, gvisor: docker.gvisor, ...files });
    let out: RunnerOutput;
    let envFd: number | null = null;
    try {
      envFd = openNamelessFile(privateRunDir(), spec.runId, l.envFile);
      if (l.envScript !== null) fs.writeFileSync(files.envScriptPath, l.envScript, { mode: 0o600, flag: "wx" });
      out = await runSandboxProcess({
        argv: l.argv,
        env: dockerCliEnv(deps.env.vars),
        extraFds: [],
        passFds: [envFd],
        stdin: io.stdin ?? null,
        stdinStream: io.stdinStream,
        timeoutMs: spec.limits.timeoutSeconds * 1000,
        outputBytes: spec.limits.outputBytes,
        killTree: (alive) => dockerKill(docker.path, l.containerName, alive),
        onStdout: io.onStdout,
        onStderr: io.onStderr,
        terminal: io.terminal,
        signal: io.signal,
        onStart: () => io.onProcs?.(dockerProcs(() => dockerPid(docker.path, l.containerName), io.signal)),
      });
    } finally {
      if (envFd !== null) fs.closeSync(envFd);
      fs.rmSync(files.envScriptPath, { force: true });
    }
    if (out.exitCode === 125 && !out.timedOut && !mountChanged(spec, out)) {
      const msg = new TextDecoder().decode(out.stderr).trim().split("\n")[0] ?? "";
      throw new AppError("UNAVAILABLE", `docker could not start the sandbox: ${msg.replace(/^docker: /, "").slice(0, 300)}`);
    }
    return { ...out, resources: { limiter: "docker" } };
  }

  /** The container's first process on the host, once the engine has started it. */
  async function dockerPid(dockerPath: string, name: string): Promise<number | null> {
    const p = Bun.spawn([dockerPath, "inspect", "--format", "{{.State.Pid}}", name], { stdout: "pipe", stderr: "ignore", env: dockerCliEnv(deps.env.vars), cwd: "/" });
    const out = (await new Response(p.stdout).text()).trim();
    return (await p.exited) === 0 && /^[1-9][0-9]*$/.test(out) ? Number(out) : null;
  }

  return {
    homeLabel,

    launch(mode: SandboxMode, host: HostProbe, docker: DockerTarget | null, spec: LaunchSpec, io: LaunchIo = {}): Promise<LaunchOutput> {
      return mode === "bwrap" ? launchBwrap(host, spec, io) : launchDocker(host, docker!, spec, io);
    },

    /** Kills containers a previous gateway on this home left running (docker has no die-with-parent). */
    reapOrphans(): number {
      const docker = Bun.which("docker", { PATH: deps.env.path });
      if (!docker) return 0;
      const ps = Bun.spawnSync([docker, "ps", "-q", "--filter", `label=openclaw.home=${homeLabel}`], { stdout: "pipe", stderr: "ignore", timeout: 5000, env: dockerCliEnv(deps.env.vars) });
      const ids = ps.stdout.toString().trim().split("\n").filter(Boolean);
      if (ids.length) Bun.spawnSync([docker, "kill", ...ids], { stdout: "ignore", stderr: "ignore", timeout: 10_000, env: dockerCliEnv(deps.env.vars) });
      return ids.length;
    },

    /** Waits for background cleanups (cgroup removal) to finish. */
    async drain(): Promise<void> {
      await Promise.all([...cleanups]);
    },
  };
}

export type Launcher = ReturnType<typeof createLauncher>;
