// Sandbox runs for tenants: the run's policy (sandbox.policy.ts: mode, limits, egress, always within
// the admin's ceilings), a run slot (run-slots.ts; under rlimits, a turn: uid-turns.ts), the disk
// watchdog, the overlay's mounts checked and opened (mounts.ts), an egress proxy when the run may
// reach anything, the launch in bwrap or docker (launch.ts) in the tenant's workspace (workspace.ts),
// and its record (runs.ts). A run ends when its tenant stops (live-runs.ts). Refuses to run — with the
// reason — when the host fails the self-test (sandbox.status.ts).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Environment } from "../../config/env.ts";
import type { GatewayConfig } from "../../config/schema.ts";
import type { Clock } from "../../core/clock.ts";
import { AppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { Db } from "../../db/client.ts";
import { assertCurrent, type TenantScope } from "../../edge/tenant-scope.ts";
import { randomBase62 } from "../../lib/base62.ts";
import { buildAllowPrivate } from "../../lib/egress-rules.ts";
import type { DiskGuard } from "../disk/disk.service.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import type { TenantsService } from "../tenants/tenants.service.ts";
import { startEgressProxy, type EgressEvent, type EgressProxy } from "./egress/proxy.ts";
import { removeStaleRunCgroups } from "./cgroups.ts";
import { bridgeLaunch, createLauncher, dockerSettings, mountChanged, type DockerTarget } from "./launch.ts";
import { prepareMounts, type MountPlan } from "./mounts.ts";
import { signalName } from "./runner.ts";
import { createRunRecords } from "./runs.ts";
import { createLiveRuns } from "./live-runs.ts";
import { createRunSlots } from "./run-slots.ts";
import { checkCommand, checkEnv, createRunPolicy } from "./sandbox.policy.ts";
import { createStatusCheck } from "./sandbox.status.ts";
import type { LaunchSpec, RunResult, SandboxRequest } from "./sandbox.types.ts";
import { createUidTurns } from "./uid-turns.ts";
import { adoptWorkspace, workspaceFor } from "./workspace.ts";

export interface SandboxDeps {
  home: string;
  /** The gateway's environment: PATH for the host tools, the operator's DOCKER_* settings. */
  env: Environment;
  config: () => GatewayConfig;
  overlays: OverlaysService;
  tenants: TenantsService;
  db: Db;
  clock: Clock;
  log: Logger;
  metrics?: Metrics;
  disk: DiskGuard;
}

export function createSandboxService(deps: SandboxDeps) {
  const { home, log } = deps;
  const slots = createRunSlots();
  // Runs in progress, ended when their tenant stops (the module's TenantData.onStop is `endTenantWork`).
  const liveRuns = createLiveRuns({ watch: deps.tenants.watchWork });
  // Under the rlimits limiter, tenants' runs never overlap (they share one uid's process count).
  const uidTurns = createUidTurns();
  const policy = createRunPolicy(deps);
  const launcher = createLauncher(deps);
  const getStatus = createStatusCheck({ ...deps, launcher });
  const records = createRunRecords({ db: deps.db, clock: deps.clock, incarnation: deps.tenants.incarnation });
  const egressCounters = new Map<string, { allowed: number; refused: number; failed: number }>();

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
      // A request's identity (token, incarnation, status) may have ended while the request waited.
      assertCurrent(req.tenant);
      const tenantId = req.tenant.tenantId;
      const tenant = deps.tenants.get(req.tenant);
      if (tenant.status !== "active") throw new AppError("FORBIDDEN", `tenant "${tenantId}" is suspended`);
      // The incarnation seen now: a run of a tenant deleted (and created again) meanwhile is refused.
      const incarnation = tenant.incarnation;
      const command = checkCommand(req.command);
      const env = checkEnv(req.env);
      const mode = policy.mode(req.tenant, req.mode);
      if (mode === "docker") for (const [k, v] of Object.entries(env)) if (/[\r\n]/.test(v)) throw new AppError("INVALID_PARAMS", `environment variable ${k} holds a line break, which docker mode cannot pass (its --env-file is line-based)`);
      const limits = policy.limits(req.tenant, req.terminal ? undefined : req.timeoutSeconds);
      // A terminal lives as long as the operator lets terminals live, not as long as one command may.
      if (req.terminal) limits.timeoutSeconds = req.terminal.lifetimeSeconds;
      const rules = policy.egress(req);
      // Re-checked on disk, and opened, once the run has its slot (./mounts.ts).
      const mountRequests = [...(deps.overlays.current(req.tenant).sandbox?.mounts ?? []), ...(req.mounts ?? [])];
      const s = await getStatus({ docker: mode === "docker" });
      const ms = s.modes[mode];
      if (!ms.usable) throw new AppError("UNAVAILABLE", `sandbox mode "${mode}" is unavailable on this host: ${ms.reason}`);
      const c = deps.config();
      let docker: DockerTarget | null = null;
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
      const slotKey = `${tenantId}/${incarnation}`;
      // A terminal is counted by the terminal module's own caps (gateway.terminal), not a run slot:
      // an open shell must not keep the tenant's commands and agent tools from running for hours.
      const releaseSlot = req.terminal ? () => {} : slots.acquire(slotKey, deps.config().sandbox);
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
      const live = liveRuns.begin({ tenantId, incarnation, token: req.token });
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
        diskWatch = await deps.disk.beginRun(req.tenant, stopSignal);
        const workspace = workspaceFor(home, tenantId, s.host);
        plan = await prepareMounts({ home, tenantId, runId, requests: mountRequests, identity: s.host.identity, unsharePath: s.host.unsharePath, log });
        if (rules.length > 0) {
          // A short path (Unix socket paths are limited to 108 bytes) in a fresh 0700 directory.
          sockDir = fs.mkdtempSync(path.join(os.tmpdir(), "oc-egress-"));
          proxy = await startEgressProxy({
            socketPath: path.join(sockDir, "egress.sock"),
            rules,
            allowPrivate: buildAllowPrivate(c.sandbox.egress?.allowPrivate),
            maxConnections: c.sandbox.egress?.maxConnectionsPerRun ?? 32,
            onEvent: (e) => countEgress(tenantId, e),
          });
          live.attachProxy(proxy.close);
        }
        const spec: LaunchSpec = {
          runId,
          tenantId,
          workspace,
          mounts: plan.mounts,
          // gVisor shows its own device and inode numbers, so there the check cannot be made.
          mountChecks: docker?.gvisor ? [] : plan.checks,
          command,
          env,
          limits,
          egress: proxy ? { socketPath: proxy.socketPath, bridge: bridgeLaunch() } : null,
          tty: !!req.terminal,
        };
        live.assertLive();
        const guard = diskWatch;
        const out = await launcher.launch(mode, s.host, docker, spec, { ...req, signal: diskWatch.signal, onProcs: (p) => guard.attach(p) });
        if (mountChanged(spec, out)) {
          log.warn("a sandbox mount changed between the gateway's check and the bind; the run was stopped", { tenant: tenantId, runId });
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
        records.record({
          id: runId,
          tenantId,
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
        });
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

    /** The module's TenantData.onStop: kills the tenant's runs (settles when they have ended). */
    endTenantWork: liveRuns.stop,

    /** Runs in progress (all, or one tenant's). */
    liveRuns: liveRuns.count,

    seconds: records.seconds,
    usage: records.usage,

    /** What the tenant's sandbox looks like: mode, limits, tools with egress, usage today. */
    info(tenant: TenantScope) {
      const c = deps.config();
      const overlay = deps.overlays.current(tenant);
      const dayStart = Math.floor(deps.clock.now() / 86_400_000) * 86_400_000;
      const egress: Record<string, string[]> = {};
      for (const [tool, entries] of Object.entries(overlay.tools?.egress ?? {})) if (c.sandbox.egress?.tools?.[tool]) egress[tool] = entries;
      return {
        mode: policy.mode(tenant, undefined),
        allowedModes: c.sandbox.allowedModes ?? ["bwrap"],
        limits: policy.limits(tenant, undefined),
        egress,
        today: records.seconds(tenant, dayStart, dayStart + 86_400_000),
      };
    },

    egressCounts(tenant: TenantScope) {
      return { ...(egressCounters.get(tenant.tenantId) ?? { allowed: 0, refused: 0, failed: 0 }) };
    },

    /** Hands a tenant's workspace (restored from a backup, say) to the sandbox identity, so sandboxed code can use it. */
    adoptWorkspace(tenant: TenantScope): void {
      adoptWorkspace(home, tenant.tenantId);
    },

    /**
     * The self-test at gateway start: each allowed mode is checked (bwrap: version, --disable-userns,
     * seccomp self-test, a live test sandbox; docker: engine, runtime, image). A mode that fails is
     * refused for every run with the reason logged here; the gateway itself still starts. Cgroups and
     * containers an earlier process left are removed.
     */
    startupCheck(): void {
      const allowed = deps.config().sandbox.allowedModes ?? ["bwrap"];
      getStatus({ docker: allowed.includes("docker") })
        .then((s) => {
          const stale = removeStaleRunCgroups(s.host.cgroups);
          if (stale > 0) log.info(`removed ${stale} sandbox cgroup(s) left by an earlier process`);
          for (const w of s.warnings) log.warn(w);
          for (const mode of allowed) {
            const m = s.modes[mode];
            if (m.usable) log.info(`sandbox mode ${mode} ready`, { limiter: mode === "bwrap" ? s.host.cgroups.limiter : "docker", runtime: mode === "docker" ? s.docker?.runtime : undefined });
            else log.error(`sandbox mode ${mode} refused: ${m.reason}`);
          }
        })
        .catch((err) => log.error("sandbox self-test failed", { error: err instanceof Error ? err.message : String(err) }));
      if (allowed.includes("docker")) {
        void Promise.resolve()
          .then(() => launcher.reapOrphans())
          .then((n) => n > 0 && log.warn(`killed ${n} sandbox container(s) left running by a previous gateway`))
          .catch(() => {});
      }
    },

    /** The docker-mode image the config names (or the default). */
    dockerImage: () => dockerSettings(deps.config()).image,

    /** Kills the containers of this home that a dead process left running; how many. */
    reapOrphans: launcher.reapOrphans,

    drain: launcher.drain,
    homeLabel: launcher.homeLabel,
  };
}

export type SandboxService = ReturnType<typeof createSandboxService>;
