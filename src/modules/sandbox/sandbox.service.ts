// Sandbox runs for tenants: picks the mode (gateway default → tenant overlay → call, always among the
// admin's allowed modes), the limits (the overlay and the call may only lower the admin's ceilings)
// and the egress allow-list (the tool's admin ceiling, opted into by the overlay), then starts the run
// in bwrap or docker, with a per-run egress proxy when the run may reach anything at all. Refuses to
// run — with the reason — when the host fails the self-test.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import type { GatewayConfig } from "../../config/schema.ts";
import type { Clock } from "../../core/clock.ts";
import { AppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { DbHandle } from "../../db/client.ts";
import { randomBase62 } from "../../lib/base62.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import { resolveInRoot } from "../paths/path-resolver.ts";
import { tenantDir } from "../tenants/tenant-dirs.ts";
import { probeMountStaging, type MountStaging } from "./mount-stage.ts";
import { MOUNT_CHANGED, prepareMounts, type MountPlan } from "./mounts.ts";
import type { TenantsService } from "../tenants/tenants.service.ts";
import { buildBwrapLaunch } from "./bwrap.ts";
import { createRunCgroup } from "./cgroups.ts";
import type { DiskGuard } from "./disk.ts";
import { buildDockerLaunch, dockerCliEnv } from "./docker.ts";
import { buildAllowPrivate, parseEgressEntry, type EgressRule } from "./egress/policy.ts";
import { startEgressProxy, type EgressEvent, type EgressProxy } from "./egress/proxy.ts";
import { dockerImagePresent, probeDocker, probeHost, type DockerProbe, type HostProbe } from "./host.ts";
import { runSandboxProcess, signalName, type RunnerOutput } from "./runner.ts";
import { createRunSlots } from "./run-slots.ts";
import { createLiveRuns } from "./live-runs.ts";
import { envScriptFile, openNamelessFile, sweepRunFiles } from "./run-files.ts";
import { createUidTurns, RLIMITS_WARNING } from "./uid-turns.ts";
import { SandboxRunTable } from "./sandbox.sql.ts";
import {
  BRIDGE_PORT,
  DEFAULT_LIMITS,
  EGRESS_SOCKET_IN_SANDBOX,
  type BridgeLaunch,
  type EffectiveLimits,
  type LaunchSpec,
  type RunResult,
  type SandboxMode,
} from "./sandbox.types.ts";
import { dockerProfileText, filterBytes } from "./seccomp/policy.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { isCompiledBinary } from "../../lib/worker.ts";

export const DEFAULT_IMAGE = "openclaw-sandbox:latest";

export interface SandboxRequest {
  tenantId: string;
  command: string[];
  stdin?: Uint8Array | null;
  env?: Record<string, string>;
  timeoutSeconds?: number;
  mode?: SandboxMode;
  /** Egress comes from this tool's allow-list (admin ceiling ∩ tenant overlay). */
  tool?: string;
  /** Operator only (CLI): explicit host:port entries. */
  allow?: string[];
  origin: "rpc" | "operator";
  encoding?: "utf8" | "base64";
  onStdout?(chunk: Uint8Array): void;
  onStderr?(chunk: Uint8Array): void;
  signal?: AbortSignal;
  /** The tenant token (actor id) that asked for the run: the run ends if that token stops working. */
  token?: string;
}

export interface ModeStatus {
  usable: boolean;
  reason: string | null;
}

export interface SandboxStatus {
  checkedAt: string;
  host: HostProbe;
  live: { ok: boolean; detail: string } | null;
  docker: (DockerProbe & { image: string; imagePresent: boolean; runtime: string; runtimeAvailable: boolean }) | null;
  modes: Record<SandboxMode, ModeStatus>;
  /** What the operator should know about how (badly) tenants are kept apart here. */
  warnings: string[];
  /** How overlay mounts (`sandbox.mounts[]`) are made readable on the home's file system (./mount-stage.ts). */
  mounts: MountStaging;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const RESERVED_ENV = new Set(["PATH", "HOME", "TMPDIR", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"]);
const MAX_ENV_BYTES = 64 * 1024;
const MAX_ARGV_BYTES = 256 * 1024;

/** Validates a caller's environment: names by pattern, the gateway's own variables reserved, size capped. */
export function checkEnv(env: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [k, v] of Object.entries(env ?? {})) {
    if (!ENV_NAME.test(k)) throw new AppError("INVALID_PARAMS", `environment variable name ${JSON.stringify(k.slice(0, 64))} is not allowed (letters, digits and _; not starting with a digit)`);
    if (RESERVED_ENV.has(k) || k.startsWith("OPENCLAW_")) throw new AppError("INVALID_PARAMS", `environment variable ${k} is set by the gateway and cannot be overridden`);
    if (typeof v !== "string" || v.includes("\0")) throw new AppError("INVALID_PARAMS", `environment variable ${k} must be a string without NUL`);
    bytes += k.length + Buffer.byteLength(v) + 2;
    out[k] = v;
  }
  if (bytes > MAX_ENV_BYTES) throw new AppError("INVALID_PARAMS", `environment is larger than ${MAX_ENV_BYTES} bytes`);
  return out;
}

function checkCommand(command: string[]): string[] {
  if (!Array.isArray(command) || command.length === 0) throw new AppError("INVALID_PARAMS", "command is empty");
  let bytes = 0;
  for (const a of command) {
    if (typeof a !== "string") throw new AppError("INVALID_PARAMS", "command arguments must be strings");
    if (a.includes("\0")) throw new AppError("INVALID_PARAMS", "command arguments cannot contain NUL");
    bytes += Buffer.byteLength(a) + 1;
  }
  if (command[0] === "") throw new AppError("INVALID_PARAMS", "command is empty");
  if (bytes > MAX_ARGV_BYTES) throw new AppError("INVALID_PARAMS", `command is longer than ${MAX_ARGV_BYTES} bytes`);
  return command;
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

export interface SandboxDeps {
  home: string;
  config: () => GatewayConfig;
  overlays: OverlaysService;
  tenants: TenantsService;
  handle: DbHandle;
  clock: Clock;
  log: Logger;
  metrics?: Metrics;
  disk: DiskGuard;
}

export function createSandboxService(deps: SandboxDeps) {
  const { home, log } = deps;
  let status: SandboxStatus | null = null;
  let statusPromise: Promise<SandboxStatus> | null = null;
  const slots = createRunSlots();
  // Runs in progress, ended when their tenant stops (core wiring registers `endTenantWork`).
  const liveRuns = createLiveRuns({ watch: deps.tenants.watchWork });
  // Under the rlimits limiter, tenants' runs never overlap (they share one uid's process count).
  const uidTurns = createUidTurns();
  const egressCounters = new Map<string, { allowed: number; refused: number; failed: number }>();
  const homeLabel = crypto.createHash("sha256").update(path.resolve(home)).digest("hex").slice(0, 16);
  const runDir = path.join(home, "run");
  const seccompFiles = new Map<string, string>();
  const cleanups = new Set<Promise<unknown>>();
  // A gateway (or CLI) that died mid-run left its runs' variables here: they go at start.
  sweepRunFiles(runDir, log);

  function privateRunDir(): string {
    fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
    return runDir;
  }

  function dockerSettings(c: GatewayConfig) {
    return {
      image: c.sandbox.docker?.image ?? DEFAULT_IMAGE,
      runtime: c.sandbox.docker?.runtime ?? "runc",
      egressRuntime: c.sandbox.docker?.egressRuntime ?? (c.sandbox.docker?.runtime && c.sandbox.docker.runtime !== "runc" ? `${c.sandbox.docker.runtime}-egress` : "runc"),
    };
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

  /** A scratch workspace for the live self-test, owned by the sandbox identity. */
  function selfTestWorkspace(host: HostProbe): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-selftest-"));
    if (host.identity.viaStage) fs.chownSync(dir, host.identity.uid, host.identity.gid);
    return dir;
  }

  async function liveBwrapCheck(host: HostProbe): Promise<{ ok: boolean; detail: string }> {
    const ws = selfTestWorkspace(host);
    try {
      const out = await launch("bwrap", host, null, {
        runId: `selftest-${randomBase62(8)}`,
        tenantId: "selftest",
        workspace: ws,
        mounts: [],
        command: ["/bin/sh", "-c", "grep -E '^(Seccomp|NoNewPrivs|CapEff|Uid):' /proc/self/status; unshare -U true 2>/dev/null && echo USERNS-ALLOWED; echo done"],
        env: {},
        limits: { ...DEFAULT_LIMITS, timeoutSeconds: 20 },
        egress: null,
      });
      const text = new TextDecoder().decode(out.stdout);
      const problems: string[] = [];
      if (out.exitCode !== 0 || !text.includes("done")) problems.push(`a test sandbox did not run (exit ${out.exitCode}): ${new TextDecoder().decode(out.stderr).trim().split("\n")[0] ?? ""}`);
      else {
        if (!/^Seccomp:\s+2$/m.test(text)) problems.push("the seccomp filter is not active inside the sandbox");
        if (!/^NoNewPrivs:\s+1$/m.test(text)) problems.push("no_new_privs is not set inside the sandbox");
        if (!/^CapEff:\s+0+$/m.test(text)) problems.push("the sandbox kept capabilities");
        if (text.includes("USERNS-ALLOWED")) problems.push("a nested user namespace could be created inside the sandbox");
      }
      return problems.length ? { ok: false, detail: problems.join("; ") } : { ok: true, detail: "test sandbox ran with seccomp, no_new_privs, no capabilities, no nested user namespaces" };
    } catch (err) {
      return { ok: false, detail: `a test sandbox could not start: ${err instanceof Error ? err.message : String(err)}` };
    } finally {
      fs.rmSync(ws, { recursive: true, force: true });
    }
  }

  async function computeStatus(opts: { docker: boolean }): Promise<SandboxStatus> {
    const c = deps.config();
    const host = probeHost();
    const wanted = c.sandbox.limiter;
    let limiterProblem: string | null = null;
    if (wanted === "rlimits") host.cgroups = { limiter: "rlimits", note: "rlimits, as sandbox.limiter asks" };
    else if (wanted !== "auto" && host.cgroups.limiter !== wanted) limiterProblem = `sandbox.limiter is ${wanted}, but this host offers ${host.cgroups.limiter} (${host.cgroups.note})`;
    const allowed = c.sandbox.allowedModes ?? ["bwrap"];
    const modes: Record<SandboxMode, ModeStatus> = {
      bwrap: { usable: false, reason: null },
      docker: { usable: false, reason: null },
    };
    let live: SandboxStatus["live"] = null;
    const bwrapProblem =
      host.bwrap.problem ??
      limiterProblem ??
      (!host.seccomp.ok ? `the seccomp filter failed its self-test: ${host.seccomp.failures.join("; ")}` : null) ??
      (host.identity.viaStage && (!host.setprivPath || !host.unsharePath) ? "setpriv and unshare (util-linux) are needed to run sandboxes when the gateway runs as root" : null);
    if (bwrapProblem) modes.bwrap = { usable: false, reason: bwrapProblem };
    else {
      live = await liveBwrapCheck(host);
      modes.bwrap = live.ok ? { usable: true, reason: null } : { usable: false, reason: live.detail };
    }
    let docker: SandboxStatus["docker"] = null;
    if (opts.docker || allowed.includes("docker")) {
      const probe = probeDocker();
      const d = dockerSettings(c);
      const imagePresent = probe.problem === null && dockerImagePresent(probe.path!, d.image);
      const runtimeAvailable = d.runtime === "runc" || d.runtime in probe.runtimes;
      docker = { ...probe, image: d.image, imagePresent, runtime: d.runtime, runtimeAvailable };
      const reason =
        probe.problem ??
        (!host.seccomp.ok ? "the seccomp profile generator failed its self-test" : null) ??
        (!runtimeAvailable ? `the Docker runtime "${d.runtime}" is not registered with the engine (see /etc/docker/daemon.json)` : null) ??
        (!imagePresent ? `the sandbox image ${d.image} is not present (build it with \`openclaw sandbox image build\`)` : null);
      modes.docker = reason ? { usable: false, reason } : { usable: true, reason: null };
    } else modes.docker = { usable: false, reason: "not among sandbox.allowedModes" };
    if (!allowed.includes("bwrap") && modes.bwrap.usable) modes.bwrap = { usable: false, reason: "not among sandbox.allowedModes" };
    const warnings = host.cgroups.limiter === "rlimits" && allowed.includes("bwrap") ? [RLIMITS_WARNING] : [];
    const mounts = await probeMountStaging({ home, identity: host.identity, unsharePath: host.unsharePath, log });
    return { checkedAt: new Date(deps.clock.now()).toISOString(), host, live, docker, modes, warnings, mounts };
  }

  async function getStatus(opts: { refresh?: boolean; docker?: boolean } = {}): Promise<SandboxStatus> {
    if (status && !opts.refresh && (!opts.docker || status.docker)) return status;
    if (!statusPromise || opts.refresh) {
      statusPromise = computeStatus({ docker: opts.docker ?? false }).then((s) => {
        status = s;
        return s;
      });
      statusPromise.catch(() => (statusPromise = null));
    }
    return statusPromise;
  }

  function effectiveLimits(tenantId: string, timeoutSeconds: number | undefined): EffectiveLimits {
    const c = deps.config();
    const ceilings: EffectiveLimits = { ...DEFAULT_LIMITS, ...c.sandbox.limits };
    const overlay = deps.overlays.current(tenantId).sandbox?.limits ?? {};
    const limits = { ...ceilings };
    for (const k of Object.keys(limits) as (keyof EffectiveLimits)[]) {
      const v = overlay[k];
      if (typeof v === "number") limits[k] = Math.min(limits[k], v);
    }
    if (timeoutSeconds !== undefined) {
      if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) throw new AppError("INVALID_PARAMS", "timeoutSeconds must be a positive integer");
      if (timeoutSeconds > limits.timeoutSeconds) throw new AppError("INVALID_PARAMS", `timeoutSeconds ${timeoutSeconds} exceeds this tenant's limit of ${limits.timeoutSeconds}`);
      limits.timeoutSeconds = timeoutSeconds;
    }
    return limits;
  }

  function chooseMode(tenantId: string, requested: SandboxMode | undefined): SandboxMode {
    const c = deps.config();
    const allowed = c.sandbox.allowedModes ?? ["bwrap"];
    const mode = requested ?? deps.overlays.current(tenantId).sandbox?.mode ?? c.sandbox.mode ?? allowed[0] ?? "bwrap";
    if (!allowed.includes(mode)) throw new AppError("FORBIDDEN", `sandbox mode "${mode}" is not allowed by the gateway (allowed: ${allowed.join(", ")})`);
    return mode;
  }

  function egressRules(req: SandboxRequest): EgressRule[] {
    const rules: EgressRule[] = [];
    if (req.allow?.length) {
      if (req.origin !== "operator") throw new AppError("FORBIDDEN", "explicit egress entries are for the operator; tenants name a tool");
      for (const e of req.allow) {
        try {
          rules.push(parseEgressEntry(e));
        } catch (err) {
          throw new AppError("INVALID_PARAMS", `--allow ${(err as Error).message}`);
        }
      }
    }
    if (req.tool !== undefined) {
      const c = deps.config();
      const overlay = deps.overlays.current(req.tenantId);
      if (overlay.tools?.allow && !overlay.tools.allow.includes(req.tool)) throw new AppError("FORBIDDEN", `tool "${req.tool}" is not among this tenant's allowed tools`);
      const ceiling = c.sandbox.egress?.tools?.[req.tool];
      if (!ceiling) throw new AppError("FORBIDDEN", `tool "${req.tool}" has no egress allowed by the gateway`);
      for (const e of overlay.tools?.egress?.[req.tool] ?? []) rules.push(parseEgressEntry(e));
    }
    return rules;
  }

  /** The tenant's workspace: a real directory inside the tenant root, owned by the sandbox identity. */
  function workspaceFor(tenantId: string, host: HostProbe): string {
    const root = tenantDir(home, tenantId);
    const r = resolveInRoot(root, "workspace", { leaf: "nofollow" });
    if (!r.exists) fs.mkdirSync(r.absolute, { mode: 0o700 });
    else if (r.kind !== "directory") throw new AppError("CONFIG_INVALID", "the tenant's workspace is not a directory");
    const st = fs.lstatSync(r.absolute);
    if (host.identity.viaStage && (st.uid !== host.identity.uid || st.gid !== host.identity.gid)) fs.chownSync(r.absolute, host.identity.uid, host.identity.gid);
    return r.absolute;
  }

  async function launch(mode: SandboxMode, host: HostProbe, docker: { path: string; image: string; runtime: string; gvisor: boolean } | null, spec: LaunchSpec, io: Partial<SandboxRequest> = {}): Promise<RunnerOutput & { resources: RunResult["resources"] }> {
    const timeoutMs = spec.limits.timeoutSeconds * 1000;
    if (mode === "bwrap") {
      const cgroup = host.cgroups.limiter === "rlimits" ? null : createRunCgroupOrFail(host, spec);
      try {
        const l = buildBwrapLaunch(spec, { bwrapPath: host.bwrap.path!, setprivPath: host.setprivPath, unsharePath: host.unsharePath, identity: host.identity, seccomp: filterBytes(host.arch!) }, cgroup);
        const out = await runSandboxProcess({
          argv: l.argv,
          env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
          extraFds: l.extraFds,
          stdin: io.stdin ?? null,
          timeoutMs,
          outputBytes: spec.limits.outputBytes,
          killTree: () => cgroup?.kill(),
          onStdout: io.onStdout,
          onStderr: io.onStderr,
          signal: io.signal,
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
    // The container's variables travel in private files, never in the CLI's environment: the
    // --env-file is a nameless file the CLI gets as its fd 3 (./run-files.ts).
    const files = { envFilePath: "/dev/fd/3", envScriptPath: envScriptFile(privateRunDir(), spec.runId) };
    const l = buildDockerLaunch(spec, { dockerPath: docker!.path, image: docker!.image, runtime: docker!.runtime, seccompProfilePath: dockerProfileFile(host, docker!.gvisor), identity: host.identity, homeLabel, gvisor: docker!.gvisor, ...files });
    let out: RunnerOutput;
    let envFd: number | null = null;
    try {
      envFd = openNamelessFile(privateRunDir(), spec.runId, l.envFile);
      if (l.envScript !== null) fs.writeFileSync(files.envScriptPath, l.envScript, { mode: 0o600, flag: "wx" });
      out = await runSandboxProcess({
        argv: l.argv,
        env: dockerCliEnv(),
        extraFds: [],
        passFds: [envFd],
        stdin: io.stdin ?? null,
        timeoutMs,
        outputBytes: spec.limits.outputBytes,
        killTree: (alive) => dockerKill(docker!.path, l.containerName, alive),
        onStdout: io.onStdout,
        onStderr: io.onStderr,
        signal: io.signal,
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

  /** The sandbox's own mount check stopped the run (only runs that have one: a command could print the same). */
  function mountChanged(spec: LaunchSpec, out: RunnerOutput): boolean {
    if (!spec.mountChecks?.length || out.exitCode !== 125) return false;
    return new TextDecoder().decode(out.stderr.subarray(0, MOUNT_CHANGED.length)) === MOUNT_CHANGED;
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
      const p = Bun.spawn([dockerPath, "kill", name], { stdout: "ignore", stderr: "ignore", env: dockerCliEnv(), cwd: "/" });
      if ((await p.exited) === 0 || !alive() || Date.now() > deadline) return;
      await Bun.sleep(100);
    }
  }

  function countEgress(tenantId: string, e: EgressEvent) {
    const c = egressCounters.get(tenantId) ?? { allowed: 0, refused: 0, failed: 0 };
    c[e.outcome]++;
    egressCounters.set(tenantId, c);
    deps.metrics?.egress(e.outcome);
    const fields = { tenant: tenantId, host: e.host, port: e.port, method: e.method, address: e.address, reason: e.reason, bytesUp: e.bytesUp, bytesDown: e.bytesDown };
    if (e.outcome === "allowed") log.info("sandbox egress allowed", fields);
    else log.warn(`sandbox egress ${e.outcome}`, fields);
  }

  return {
    status: getStatus,

    /** Runs a command in the tenant's sandbox and returns how it ended. */
    async run(req: SandboxRequest): Promise<RunResult> {
      const tenant = deps.tenants.get(req.tenantId);
      if (tenant.status !== "active") throw new AppError("FORBIDDEN", `tenant "${req.tenantId}" is suspended`);
      // The incarnation seen now: a run of a tenant deleted (and created again) meanwhile is refused.
      const incarnation = tenant.incarnation;
      const command = checkCommand(req.command);
      const env = checkEnv(req.env);
      const mode = chooseMode(req.tenantId, req.mode);
      if (mode === "docker") for (const [k, v] of Object.entries(env)) if (/[\r\n]/.test(v)) throw new AppError("INVALID_PARAMS", `environment variable ${k} holds a line break, which docker mode cannot pass (its --env-file is line-based)`);
      const limits = effectiveLimits(req.tenantId, req.timeoutSeconds);
      const rules = egressRules(req);
      // Re-checked on disk, and opened, once the run has its slot (./mounts.ts).
      const mountRequests = deps.overlays.current(req.tenantId).sandbox?.mounts ?? [];
      const s = await getStatus({ docker: mode === "docker" });
      const ms = s.modes[mode];
      if (!ms.usable) throw new AppError("UNAVAILABLE", `sandbox mode "${mode}" is unavailable on this host: ${ms.reason}`);
      const c = deps.config();
      let docker: { path: string; image: string; runtime: string; gvisor: boolean } | null = null;
      if (mode === "docker") {
        const d = dockerSettings(c);
        const runtime = rules.length > 0 ? d.egressRuntime : d.runtime;
        if (rules.length > 0 && d.runtime !== "runc" && !(runtime in (s.docker?.runtimes ?? {}))) {
          throw new AppError("UNAVAILABLE", `egress under the "${d.runtime}" runtime needs the runtime "${runtime}" (registered with --host-uds=open); set sandbox.docker.egressRuntime`);
        }
        const runtimePath = s.docker?.runtimes[runtime]?.path ?? "";
        docker = { path: s.docker!.path!, image: d.image, runtime, gvisor: runtime.startsWith("runsc") || /(^|\/)runsc$/.test(runtimePath) };
      }
      // Slots are per incarnation: a deleted tenant's run, while it is being killed, never holds a
      // slot of the tenant created again under its id.
      const slotKey = `${req.tenantId}/${incarnation}`;
      const releaseSlot = slots.acquire(slotKey, deps.config().sandbox);
      let releaseTurn: () => void;
      try {
        releaseTurn = uidTurns.acquire(slotKey, mode === "bwrap" && s.host.cgroups.limiter === "rlimits");
      } catch (err) {
        releaseSlot();
        throw err;
      }
      const release = () => {
        releaseTurn();
        releaseSlot();
      };
      const live = liveRuns.begin({ tenantId: req.tenantId, incarnation, token: req.token });
      const runId = randomBase62(12);
      const startedAt = deps.clock.now();
      let proxy: EgressProxy | null = null;
      let sockDir: string | null = null;
      let diskWatch: Awaited<ReturnType<DiskGuard["beginRun"]>> | null = null;
      let plan: MountPlan | null = null;
      try {
        // The tenant may have stopped while the mode was checked; from here on its stop kills the run.
        live.assertLive();
        const stopSignal = req.signal ? AbortSignal.any([req.signal, live.signal]) : live.signal;
        // Refused when the tenant is over its disk limit or the disk under the reserve; killed (through
        // this signal) when either happens while it runs, or when the tenant stops.
        diskWatch = await deps.disk.beginRun(req.tenantId, stopSignal);
        const workspace = workspaceFor(req.tenantId, s.host);
        plan = await prepareMounts({ home, tenantId: req.tenantId, runId, requests: mountRequests, identity: s.host.identity, unsharePath: s.host.unsharePath, log });
        if (rules.length > 0) {
          // A short path (Unix socket paths are limited to 108 bytes) in a fresh 0700 directory.
          sockDir = fs.mkdtempSync(path.join(os.tmpdir(), "oc-egress-"));
          proxy = await startEgressProxy({
            socketPath: path.join(sockDir, "egress.sock"),
            rules,
            allowPrivate: buildAllowPrivate(c.sandbox.egress?.allowPrivate),
            maxConnections: c.sandbox.egress?.maxConnectionsPerRun ?? 32,
            onEvent: (e) => countEgress(req.tenantId, e),
          });
          live.attachProxy(proxy.close);
        }
        const spec: LaunchSpec = {
          runId,
          tenantId: req.tenantId,
          workspace,
          mounts: plan.mounts,
          // gVisor shows its own device and inode numbers, so there the check cannot be made.
          mountChecks: docker?.gvisor ? [] : plan.checks,
          command,
          env,
          limits,
          egress: proxy ? { socketPath: proxy.socketPath, bridge: bridgeLaunch() } : null,
        };
        live.assertLive();
        const out = await launch(mode, s.host, docker, spec, { ...req, signal: diskWatch.signal });
        if (mountChanged(spec, out)) {
          log.warn("a sandbox mount changed between the gateway's check and the bind; the run was stopped", { tenant: req.tenantId, runId });
          throw new AppError("CONFLICT", "a sandbox mount source changed while the run started; the command was not run");
        }
        let exitCode = out.exitCode;
        let signal = out.signal;
        if (exitCode === null && signal) exitCode = 128 + (Object.entries(os.constants.signals).find(([n]) => n === signal)?.[1] ?? 0);
        if (!signal && exitCode !== null && exitCode > 128 && exitCode <= 128 + 64) signal = signalName(exitCode - 128);
        const killedReason = live.reason ?? diskWatch.reason ?? (out.timedOut ? "timeout" : out.aborted ? "aborted" : null);
        if (killedReason) signal = "SIGKILL";
        const encoding = req.encoding ?? "utf8";
        const text = (b: Uint8Array) => (encoding === "base64" ? Buffer.from(b).toString("base64") : new TextDecoder().decode(b));
        const result: RunResult = {
          runId,
          mode,
          runtime: docker?.runtime ?? null,
          exitCode,
          signal,
          timedOut: out.timedOut,
          killedReason,
          stdout: text(out.stdout),
          stderr: text(out.stderr),
          stdoutTruncated: out.stdoutTruncated,
          stderrTruncated: out.stderrTruncated,
          encoding,
          durationMs: out.durationMs,
          resources: out.resources,
          egress: { allowed: proxy?.counts.allowed ?? 0, refused: (proxy?.counts.refused ?? 0) + (proxy?.counts.failed ?? 0) },
        };
        deps.handle.db
          .insert(SandboxRunTable)
          .values({
            id: runId,
            tenantId: req.tenantId,
            incarnation,
            mode,
            runtime: result.runtime,
            origin: req.origin,
            startedAt,
            durationMs: out.durationMs,
            exitCode,
            signal,
            timedOut: out.timedOut,
            cpuMs: out.resources.cpuMs ?? null,
            memoryPeakBytes: out.resources.memoryPeakBytes ?? null,
            egressAllowed: result.egress.allowed,
            egressRefused: result.egress.refused,
          })
          .run();
        deps.metrics?.sandboxRun(mode, out.timedOut ? "timeout" : diskWatch.reason ? "disk" : exitCode === 0 ? "ok" : "failed", out.durationMs / 1000);
        return result;
      } finally {
        diskWatch?.end();
        plan?.release();
        release();
        await proxy?.close();
        if (sockDir) fs.rmSync(sockDir, { recursive: true, force: true });
        live.end();
      }
    },

    /** The tenants service's onTenantStopped listener: kills the tenant's runs (settles when they have ended). */
    endTenantWork: liveRuns.stop,

    /** Runs in progress (all, or one tenant's). */
    liveRuns: liveRuns.count,

    /** Sandbox seconds and runs of a tenant (its current incarnation: never a previous owner's of the id) in [from, to) (epoch ms). */
    seconds(tenantId: string, from = 0, to = Number.MAX_SAFE_INTEGER): { runs: number; seconds: number } {
      const incarnation = deps.tenants.incarnation(tenantId);
      if (incarnation === null) return { runs: 0, seconds: 0 };
      const row = deps.handle.db
        .select({ runs: sql<number>`count(*)`, ms: sql<number>`coalesce(sum(${SandboxRunTable.durationMs}), 0)` })
        .from(SandboxRunTable)
        .where(sql`${SandboxRunTable.tenantId} = ${tenantId} and ${SandboxRunTable.incarnation} = ${incarnation} and ${SandboxRunTable.startedAt} >= ${from} and ${SandboxRunTable.startedAt} < ${to}`)
        .get();
      return { runs: row?.runs ?? 0, seconds: Math.round((row?.ms ?? 0) / 10) / 100 };
    },

    /** Sandbox runs and seconds today and this month (UTC), for usage reports. */
    usage(tenantId: string) {
      const now = deps.clock.now();
      const dayStart = Math.floor(now / 86_400_000) * 86_400_000;
      const d = new Date(now);
      const month = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
      const nextMonth = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      return { today: this.seconds(tenantId, dayStart, dayStart + 86_400_000), month: this.seconds(tenantId, month, nextMonth) };
    },

    /** What the tenant's sandbox looks like: mode, limits, tools with egress, usage today. */
    info(tenantId: string) {
      const c = deps.config();
      const overlay = deps.overlays.current(tenantId);
      const dayStart = Math.floor(deps.clock.now() / 86_400_000) * 86_400_000;
      const egress: Record<string, string[]> = {};
      for (const [tool, entries] of Object.entries(overlay.tools?.egress ?? {})) if (c.sandbox.egress?.tools?.[tool]) egress[tool] = entries;
      return {
        mode: chooseMode(tenantId, undefined),
        allowedModes: c.sandbox.allowedModes ?? ["bwrap"],
        limits: effectiveLimits(tenantId, undefined),
        egress,
        today: this.seconds(tenantId, dayStart, dayStart + 86_400_000),
      };
    },

    egressCounts(tenantId: string) {
      return { ...(egressCounters.get(tenantId) ?? { allowed: 0, refused: 0, failed: 0 }) };
    },

    /** Kills containers a previous gateway on this home left running (docker has no die-with-parent). */
    async reapOrphans(): Promise<number> {
      const docker = Bun.which("docker");
      if (!docker) return 0;
      const ps = Bun.spawnSync([docker, "ps", "-q", "--filter", `label=openclaw.home=${homeLabel}`], { stdout: "pipe", stderr: "ignore", timeout: 5000 });
      const ids = ps.stdout.toString().trim().split("\n").filter(Boolean);
      if (ids.length) Bun.spawnSync([docker, "kill", ...ids], { stdout: "ignore", stderr: "ignore", timeout: 10_000 });
      return ids.length;
    },

    /** Waits for background cleanups (cgroup removal) to finish. */
    async drain(): Promise<void> {
      await Promise.all([...cleanups]);
    },

    homeLabel,
  };
}

export type SandboxService = ReturnType<typeof createSandboxService>;
