// Shapes shared by the sandbox backends, the runner and the service.
import type { EffectiveLimits } from "../../config/sandbox-limits.ts";
import type { DiskKill } from "../disk/disk.service.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import type { Limiter } from "./cgroups.ts";

export type SandboxMode = "bwrap" | "docker";

/** The docker-mode image when sandbox.docker.image names none (`openclaw sandbox image build` makes it). */
export const DEFAULT_IMAGE = "openclaw-sandbox:latest";

export interface SandboxRequest {
  tenant: TenantScope;
  command: string[];
  stdin?: Uint8Array | null;
  /**
   * Standard input as it comes (a long-lived process spoken to over its stdin, e.g. a stdio MCP
   * server): each chunk is written and flushed as it arrives; the stream's end closes the input.
   */
  stdinStream?: ReadableStream<Uint8Array>;
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
  /**
   * Read-only folders of the tenant's directory a feature adds to this run (a plugin at /mnt/plugin,
   * skills at /mnt/skills), checked and bound exactly as the overlay's `sandbox.mounts` (./mounts.ts).
   */
  mounts?: readonly { source: string; target: string; readOnly: true }[];
  /**
   * Interactive: the command gets a PTY (the gateway holds its master) instead of pipes, for the web
   * terminal. Its wall clock is `lifetimeSeconds` (the operator's gateway.terminal.maxLifetimeSeconds)
   * instead of the exec timeout; every other limit, the mode, egress and identity are exec's.
   */
  terminal?: TerminalIo;
}

/** The web terminal's side of an interactive run. */
export interface TerminalIo {
  cols: number;
  rows: number;
  lifetimeSeconds: number;
  /** Output from the PTY, as it comes. */
  onData(bytes: Uint8Array): void;
  /** Once the process is spawned: how to type into it and resize it. */
  onOpen(pty: PtyControl): void;
}

export interface PtyControl {
  write(data: string): void;
  resize(cols: number, rows: number): void;
}

export const FD_LIMIT = 1024;

/** A host path checked at run time (./mounts.ts), and where it appears inside the sandbox. */
export interface MountSpec {
  source: string;
  target: string;
  readOnly: boolean;
  kind: "dir" | "file";
}

/** A mount the sandbox verifies before the command starts: its target's "dev:ino" must be `id`. */
export interface MountCheck {
  target: string;
  id: string;
}

/** How the in-sandbox egress bridge is started: what to mount and the argv prefix. */
export interface BridgeLaunch {
  mounts: MountSpec[];
  argv: string[];
  env: Record<string, string>;
}

export interface LaunchSpec {
  runId: string;
  tenantId: string;
  /** The tenant's workspace on the host; mounted read-write at /work. */
  workspace: string;
  mounts: MountSpec[];
  /** Non-empty: the sandbox checks these before the command, and gets the tenant's env after the check. */
  mountChecks?: MountCheck[];
  command: string[];
  env: Record<string, string>;
  limits: EffectiveLimits;
  egress: { socketPath: string; bridge: BridgeLaunch } | null;
  /** The command's stdio is a PTY (docker: -t; bwrap: the PTY is the session's controlling terminal). */
  tty?: boolean;
}

/** The host identity sandboxed code runs as: never root with capabilities. */
export interface SandboxIdentity {
  uid: number;
  gid: number;
  /** The gateway is root: bwrap is started through a private mount stage and setpriv. */
  viaStage: boolean;
}

export interface RunResources {
  limiter: Limiter | "docker";
  cpuMs?: number;
  memoryPeakBytes?: number;
  oomKilled?: boolean;
}

/** Why the gateway killed a run, when it did. The tenant-* and token-* reasons: the tenant stopped (live-runs.ts). */
export type KilledReason = "timeout" | DiskKill | "aborted" | "tenant-suspended" | "tenant-deleted" | "tenant-replaced" | "token-revoked";

export interface RunResult {
  runId: string;
  mode: SandboxMode;
  runtime: string | null;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  killedReason: KilledReason | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  encoding: "utf8" | "base64";
  durationMs: number;
  resources: RunResources;
  egress: { allowed: number; refused: number };
}

export const SANDBOX_ENV_BASE: Record<string, string> = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: "/work",
  TMPDIR: "/tmp",
  LANG: "C.UTF-8",
};

export const BRIDGE_PORT = 3128;
export const EGRESS_SOCKET_IN_SANDBOX = "/run/egress.sock";
const BRIDGE_READY = "/tmp/.egress-bridge-ready";

/**
 * The run's command behind the egress bridge: a shell starts the bridge in the background, waits
 * (up to 10 s) until it listens, then execs the tenant's command. The bridge argv is ours (fixed
 * paths), so it is spliced into the script; the tenant's command stays in "$@".
 */
export function withBridge(bridge: BridgeLaunch, command: string[]): string[] {
  const quoted = [...bridge.argv, BRIDGE_READY].map((a) => {
    if (!/^[A-Za-z0-9_./-]+$/.test(a)) throw new Error(`unexpected bridge argument ${JSON.stringify(a)}`);
    return a;
  });
  const script = `${quoted.join(" ")} & i=0; while [ ! -e ${BRIDGE_READY} ]; do i=$((i+1)); if [ $i -gt 1000 ]; then echo "openclaw: the egress bridge did not start" >&2; exit 126; fi; sleep 0.01; done; exec "$@"`;
  return ["/bin/sh", "-c", script, "sh", ...command];
}
