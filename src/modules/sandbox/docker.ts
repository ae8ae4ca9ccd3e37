// docker mode: the `docker run` argv of one run (../shared/reference/sandbox.md §5.1). No network,
// no capabilities, no new privileges, our default-deny seccomp profile, a read-only root with a sized
// tmpfs, a non-root user, memory (swap equal), CPU and pids limits, and one validated bind of the
// workspace. `runtime: runsc` selects gVisor.
//
// Nothing of a tenant's reaches the docker CLI's own environment, which is fixed (dockerCliEnv):
// the container's variables go through an `--env-file` — a nameless file the CLI gets as a descriptor
// (./run-files.ts) and only copies into the container's configuration: never on its command line,
// never interpreted.
//
// With `--network none` the engine would still bind its own resolv.conf, hosts and hostname, and the
// host's sysfs: ./host-masks.ts replaces them.
import { AppError } from "../../core/errors.ts";
import { dockerHostMasks } from "./host-masks.ts";
import { ENV_FILE_IN_SANDBOX, envScript, withMountCheck } from "./mounts.ts";
import { FD_LIMIT, SANDBOX_ENV_BASE, type LaunchSpec,
  withBridge, type SandboxIdentity } from "./sandbox.types.ts";

/** The operator's Docker settings, taken from the gateway's own environment; nothing else reaches the CLI. */
const DOCKER_CLI_VARS = ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"];

export function dockerCliEnv(gateway: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const env: Record<string, string> = { PATH: gateway.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: gateway.HOME ?? "/root" };
  for (const k of DOCKER_CLI_VARS) if (gateway[k]) env[k] = gateway[k]!;
  return env;
}

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
  /** Where the CLI reads the container's variables (`--env-file`): the caller's nameless file, /dev/fd/3. */
  envFilePath: string;
  /** With mount checks: a path in a private directory for the tenant's variables, sourced after the check. */
  envScriptPath: string;
}

/** Headroom for gVisor's Sentry threads, which share the container's pids cgroup with the tenant. */
export const GVISOR_PIDS_HEADROOM = 256;

export interface DockerLaunch {
  argv: string[];
  /** Contents for the `--env-file` (and `envScriptPath`, when not null), mode 0600. */
  envFile: string;
  envScript: string | null;
  containerName: string;
}

function mountArg(source: string, target: string, readOnly: boolean): string {
  // The --mount CSV syntax: a comma or quote in a path would change the meaning, so refuse them.
  for (const p of [source, target]) {
    if (/[,"\n\r]/.test(p)) throw new AppError("CONFIG_INVALID", `path ${JSON.stringify(p.slice(0, 200))} cannot be passed to docker --mount (no commas, quotes or line breaks)`);
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
    // A terminal: the container gets a TTY; the CLI (on the gateway's PTY) forwards its size changes.
    ...(spec.tty ? ["-t"] : []),
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
    ...dockerHostMasks(),
    "--init",
    "--mount",
    mountArg(spec.workspace, "/work", false),
    "--workdir",
    "/work",
  ];
  if (host.runtime !== "runc") argv.push("--runtime", host.runtime);
  for (const m of spec.mounts) argv.push("--mount", mountArg(m.source, m.target, m.readOnly));
  const checks = spec.mountChecks ?? [];
  // With mount checks, the tenant's variables reach only the command, after the check.
  const env: Record<string, string> = { ...SANDBOX_ENV_BASE, ...(checks.length ? {} : spec.env) };
  if (checks.length) argv.push("--mount", mountArg(host.envScriptPath, ENV_FILE_IN_SANDBOX, true));
  let command = withMountCheck(checks, spec.command);
  if (spec.egress) {
    argv.push("--mount", mountArg(spec.egress.socketPath, "/run/egress.sock", false));
    for (const m of spec.egress.bridge.mounts) argv.push("--mount", mountArg(m.source, m.target, true));
    Object.assign(env, spec.egress.bridge.env);
    command = withBridge(spec.egress.bridge, command);
  }
  argv.push("--env-file", host.envFilePath);
  argv.push("--", host.image, ...command);
  return { argv, envFile: envFileText(env), envScript: checks.length ? envScript(spec.env) : null, containerName: name };
}

/**
 * `NAME=value` lines, which the CLI passes on verbatim (no quotes, no expansion). A line break
 * would start another variable, so a value holding one is refused (checkEnv says so up front).
 */
export function envFileText(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || /[\0\r\n]/.test(v)) throw new AppError("INVALID_PARAMS", `environment variable ${k.slice(0, 64)} cannot be passed to docker (no line breaks or NUL in values)`);
      return `${k}=${v}\n`;
    })
    .join("");
}
