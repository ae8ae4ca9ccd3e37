// docker mode: the `docker run` argv of one run (../shared/reference/sandbox.md §5.1). No network,
// no capabilities, no new privileges, our default-deny seccomp profile, a read-only root with a sized
// tmpfs, a non-root user, memory (swap equal), CPU and pids limits, and one validated bind of the
// workspace. `runtime: runsc` selects gVisor. Environment values are passed through the docker CLI's
// own environment (`--env NAME`), never on its command line.
import { FD_LIMIT, SANDBOX_ENV_BASE, type LaunchSpec,
  withBridge, type SandboxIdentity } from "./sandbox.types.ts";

export interface DockerHost {
  dockerPath: string;
  image: string;
  /** The runtime for this run (runc, runsc, or the egress-capable gVisor runtime). */
  runtime: string;
  seccompProfilePath: string;
  identity: SandboxIdentity;
  /** Label identifying containers started by this gateway home (for cleanup after a crash). */
  homeLabel: string;
  /** gVisor: its kernel's own threads count against the container's pids limit. */
  gvisor?: boolean;
}

/** Headroom for gVisor's Sentry threads, which share the container's pids cgroup with the tenant. */
export const GVISOR_PIDS_HEADROOM = 256;

export interface DockerLaunch {
  argv: string[];
  env: Record<string, string>;
  containerName: string;
}

function mountArg(source: string, target: string, readOnly: boolean): string {
  // The --mount CSV syntax: a comma or quote in a path would change the meaning, so refuse them.
  for (const p of [source, target]) {
    if (/[,"\n\r]/.test(p)) throw new Error(`path ${JSON.stringify(p)} cannot be passed to docker --mount`);
  }
  return `type=bind,src=${source},dst=${target}${readOnly ? ",readonly" : ""}`;
}

export function containerName(runId: string): string {
  return `openclaw-sb-${runId}`;
}

export function buildDockerLaunch(spec: LaunchSpec, host: DockerHost): DockerLaunch {
  const name = containerName(spec.runId);
  const user = `${host.identity.uid}:${host.identity.gid}`;
  const argv = [
    host.dockerPath,
    "run",
    "--rm",
    "-i",
    "--name",
    name,
    "--label",
    `openclaw.home=${host.homeLabel}`,
    "--label",
    `openclaw.tenant=${spec.tenantId}`,
    "--pull",
    "never",
    "--log-driver",
    "none",
    "--network",
    "none",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--security-opt",
    `seccomp=${host.seccompProfilePath}`,
    "--read-only",
    "--tmpfs",
    `/tmp:rw,nosuid,nodev,size=${spec.limits.tmpfsMb}m`,
    "--user",
    user,
    "--pids-limit",
    String(spec.limits.pids + (host.gvisor ? GVISOR_PIDS_HEADROOM : 0)),
    "--memory",
    `${spec.limits.memoryMb}m`,
    "--memory-swap",
    `${spec.limits.memoryMb}m`,
    "--cpus",
    String(spec.limits.cpus),
    "--ulimit",
    `nofile=${FD_LIMIT}:${FD_LIMIT}`,
    "--ulimit",
    "core=0",
    // No file may grow past the tenant's whole disk limit (see disk.ts); bytes here.
    "--ulimit",
    `fsize=${spec.limits.diskMb * 1024 * 1024}`,
    "--ipc",
    "private",
    "--hostname",
    "sandbox",
    "--init",
    "--mount",
    mountArg(spec.workspace, "/work", false),
    "--workdir",
    "/work",
  ];
  if (host.runtime !== "runc") argv.push("--runtime", host.runtime);
  for (const m of spec.mounts) argv.push("--mount", mountArg(m.source, m.target, m.readOnly));
  const env: Record<string, string> = { ...SANDBOX_ENV_BASE, ...spec.env };
  let command = spec.command;
  if (spec.egress) {
    argv.push("--mount", mountArg(spec.egress.socketPath, "/run/egress.sock", false));
    for (const m of spec.egress.bridge.mounts) argv.push("--mount", mountArg(m.source, m.target, true));
    Object.assign(env, spec.egress.bridge.env);
    command = withBridge(spec.egress.bridge, spec.command);
  }
  for (const k of Object.keys(env)) argv.push("--env", k);
  argv.push("--", host.image, ...command);
  return { argv, env, containerName: name };
}
