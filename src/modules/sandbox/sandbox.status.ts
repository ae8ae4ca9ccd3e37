// What the host offers the sandboxes, checked once and kept (refreshed on demand): bwrap, the limiter,
// the seccomp self-test, a live test sandbox, Docker and its runtimes and image. A mode that fails is
// refused for every run, with the reason.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Environment } from "../../config/env.ts";
import type { GatewayConfig } from "../../config/schema.ts";
import { DEFAULT_LIMITS } from "../../config/sandbox-limits.ts";
import type { Clock } from "../../core/clock.ts";
import type { Logger } from "../../core/logger.ts";
import { randomBase62 } from "../../lib/base62.ts";
import { dockerImagePresent, probeDocker, probeHost, type DockerProbe, type HostProbe } from "./host.ts";
import { dockerSettings, type Launcher } from "./launch.ts";
import { probeMountStaging, type MountStaging } from "./mount-stage.ts";
import type { SandboxMode } from "./sandbox.types.ts";
import { RLIMITS_WARNING } from "./uid-turns.ts";

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

export function createStatusCheck(deps: { home: string; config: () => GatewayConfig; env: Environment; clock: Clock; log: Logger; launcher: Launcher }) {
  let status: SandboxStatus | null = null;
  let statusPromise: Promise<SandboxStatus> | null = null;

  /** A scratch workspace for the live self-test, owned by the sandbox identity. */
  function selfTestWorkspace(host: HostProbe): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-selftest-"));
    if (host.identity.viaStage) fs.chownSync(dir, host.identity.uid, host.identity.gid);
    return dir;
  }

  async function liveBwrapCheck(host: HostProbe): Promise<{ ok: boolean; detail: string }> {
    const ws = selfTestWorkspace(host);
    try {
      const out = await deps.launcher.launch("bwrap", host, null, {
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
    const host = probeHost(deps.env.path);
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
      const probe = probeDocker(deps.env.path);
      const d = dockerSettings(c);
      const imagePresent = probe.problem === null && dockerImagePresent(probe.path!, d.image, deps.env.path);
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
    const mounts = await probeMountStaging({ home: deps.home, identity: host.identity, unsharePath: host.unsharePath, log: deps.log });
    return { checkedAt: new Date(deps.clock.now()).toISOString(), host, live, docker, modes, warnings, mounts };
  }

  /** The kept status, computed on first use; `refresh` checks again, `docker` includes Docker even if not allowed. */
  return function getStatus(opts: { refresh?: boolean; docker?: boolean } = {}): Promise<SandboxStatus> {
    if (status && !opts.refresh && (!opts.docker || status.docker)) return Promise.resolve(status);
    if (!statusPromise || opts.refresh) {
      statusPromise = computeStatus({ docker: opts.docker ?? false }).then((s) => {
        status = s;
        return s;
      });
      statusPromise.catch(() => (statusPromise = null));
    }
    return statusPromise;
  };
}
