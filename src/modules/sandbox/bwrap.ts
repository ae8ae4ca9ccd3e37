// bwrap mode: the argv of one run (../shared/reference/sandbox.md §2.1). New user, mount, pid, ipc,
// uts, net and cgroup namespaces; no nested user namespaces; all capabilities dropped; a read-only
// allow-list of host system directories (never `/`); fresh /proc and /dev; size-capped tmpfs scratch;
// the workspace read-write at /work; our seccomp filter on fd 3. Options travel on fd 4 (`--args`)
// so environment values never appear in a process listing.
//
// When the gateway runs as root, sandboxed code must not map to host root: the run goes through a
// private mount namespace that stages the workspace (and egress socket) on a tmpfs reachable by the
// sandbox uid, then `setpriv` drops to that uid before bwrap starts.
//
// bwrap starts with an empty environment and `/` as its directory: its pid 1 inside the sandbox
// keeps the environment it was started with, and must show nothing of the host's (no PWD).
import fs from "node:fs";
import path from "node:path";
import { FD_LIMIT, SANDBOX_ENV_BASE, type LaunchSpec,
  withBridge, type MountSpec, type SandboxIdentity } from "./sandbox.types.ts";
import { ENV_FILE_IN_SANDBOX, envScript, withMountCheck } from "./mounts.ts";
import type { RunCgroup } from "./cgroups.ts";
import { bwrapProcMasks } from "./host-masks.ts";

/** Host paths visible read-only inside: system binaries and libraries, and the few /etc files they need. */
const SYSTEM_PATHS = [
  "/usr",
  "/bin",
  "/sbin",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
  "/etc/alternatives",
  "/etc/ssl/certs",
  "/etc/ca-certificates",
  "/etc/localtime",
];

const SEPARATE_FS_ROOTS = new Set(["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]);

let systemArgs: string[] | null = null;

/** `--ro-bind` for real directories and files, `--symlink` for merged-/usr links; missing ones skipped. */
export function systemBindArgs(): string[] {
  if (systemArgs) return systemArgs;
  const out: string[] = [];
  for (const p of SYSTEM_PATHS) {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isSymbolicLink()) {
      const target = fs.readlinkSync(p);
      // Only links that stay within the system allow-list (merged /usr) are recreated.
      const resolved = path.resolve(path.dirname(p), target);
      if ([...SEPARATE_FS_ROOTS].some((root) => resolved === root || resolved.startsWith(`${root}/`))) out.push("--symlink", target, p);
      continue;
    }
    if (st.isDirectory() || st.isFile()) out.push("--ro-bind", p, p);
  }
  return (systemArgs = out);
}

export const STAGE_DIRS = ["/mnt", "/media", "/srv", "/opt"];

function stageDir(): string {
  const d = STAGE_DIRS.find((p) => fs.statSync(p, { throwIfNoEntry: false })?.isDirectory());
  if (!d) throw new Error(`none of ${STAGE_DIRS.join(", ")} exists to stage the sandbox mounts on`);
  return d;
}

// Runs as the gateway's first child (root only): moves into the run's cgroups, sets rlimits, then
// stages each source under a private tmpfs before dropping to the sandbox uid. Arguments:
//   stage-dir n-procs procs... n-mounts (source name kind)... -- command...
const STAGE_SCRIPT = `set -e
stage=$1; shift
n=$1; shift
while [ "$n" -gt 0 ]; do echo $$ > "$1"; shift; n=$((n-1)); done
ulimit -n ${FD_LIMIT}; ulimit -c 0
eval "$1"; shift
n=$1; shift
if [ "$n" = 1 ] && [ "$3" = d ]; then
  # Only the workspace: bind it straight onto the stage directory (one mount, no tmpfs).
  mount --bind "$1" "$stage"
  shift 3
else
  mount -t tmpfs -o mode=0755,size=65536,nosuid,nodev openclaw-stage "$stage"
  while [ "$n" -gt 0 ]; do
    if [ "$3" = d ]; then mkdir "$stage/$2"; else : > "$stage/$2"; fi
    mount --bind "$1" "$stage/$2"
    shift 3; n=$((n-1))
  done
fi
shift
cd /
exec env -i "$@"`;

// The same without staging (the gateway is not root): cgroups, rlimits, exec.
const PLAIN_SCRIPT = `set -e
n=$1; shift
while [ "$n" -gt 0 ]; do echo $$ > "$1"; shift; n=$((n-1)); done
ulimit -n ${FD_LIMIT}; ulimit -c 0
eval "$1"; shift
shift
cd /
exec env -i "$@"`;

export interface BwrapLaunch {
  argv: string[];
  /**
   * Bytes for fd 3 (seccomp program), fd 4 (NUL-separated bwrap options) and, when the sandbox
   * checks its mounts, fd 5 (the tenant's environment, sourced after the check).
   */
  extraFds: Uint8Array[];
}

export interface BwrapHost {
  bwrapPath: string;
  setprivPath: string | null;
  unsharePath: string | null;
  identity: SandboxIdentity;
  seccomp: Uint8Array;
}

/**
 * Extra rlimits when no cgroup is available (processes, address space, CPU seconds). NPROC counts
 * per uid, which is why the gateway never runs sandboxes as root.
 */
function rlimitScript(spec: LaunchSpec, cgroup: RunCgroup | null): string {
  // No file may grow past the tenant's whole disk limit, in every limiter mode: a single large write
  // is refused at once (EFBIG) instead of waiting for the disk watchdog. POSIX sh counts 512-byte blocks.
  const fsize = `ulimit -f ${fileSizeBlocks(spec)}`;
  if (cgroup) return fsize;
  const kb = spec.limits.memoryMb * 1024;
  const cpuSeconds = Math.max(1, Math.ceil(spec.limits.timeoutSeconds * spec.limits.cpus));
  // bash spells the process limit -u, dash (Debian's /bin/sh) -p.
  return `{ ulimit -u ${spec.limits.pids} 2>/dev/null || ulimit -p ${spec.limits.pids}; }; ulimit -v ${kb}; ulimit -t ${cpuSeconds}; ${fsize}`;
}

/** RLIMIT_FSIZE for the run, in the 512-byte blocks of `ulimit -f`: the tenant's disk limit. */
export function fileSizeBlocks(spec: LaunchSpec): number {
  return spec.limits.diskMb * 2048;
}

export function buildBwrapLaunch(spec: LaunchSpec, host: BwrapHost, cgroup: RunCgroup | null): BwrapLaunch {
  const staged: { source: string; name: string; kind: "d" | "f" }[] = [];
  const stage = host.identity.viaStage ? stageDir() : null;
  // Only the workspace to stage: it is bound onto the stage directory itself (see STAGE_SCRIPT).
  const single = !!stage && spec.mounts.length === 0 && !spec.egress;
  const src = (m: Pick<MountSpec, "source" | "kind">): string => {
    if (!stage) return m.source;
    const name = `m${staged.length}`;
    staged.push({ source: m.source, name, kind: m.kind === "dir" ? "d" : "f" });
    return single ? stage : `${stage}/${name}`;
  };

  const opts: string[] = [
    "--unshare-all",
    "--unshare-user",
    "--disable-userns",
    "--die-with-parent",
    // --new-session keeps sandboxed code off the terminal of whoever started it (TIOCSTI,
    // CVE-2017-5226). A terminal run's only terminal is its own fresh PTY, whose master the gateway
    // holds: the shell keeps it as its controlling terminal, so job control and ^C work (README
    // "Security decisions": the web terminal). TIOCSTI is refused by the seccomp filter either way.
    ...(spec.tty ? [] : ["--new-session"]),
    "--cap-drop",
    "ALL",
    "--clearenv",
    "--uid",
    "65534",
    "--gid",
    "65534",
    "--hostname",
    "sandbox",
    ...systemBindArgs(),
    "--proc",
    "/proc",
    ...bwrapProcMasks(),
    "--dev",
    "/dev",
    "--perms",
    "1777",
    "--size",
    String(spec.limits.tmpfsMb * 1024 * 1024),
    "--tmpfs",
    "/tmp",
    "--perms",
    "0755",
    "--size",
    String(1024 * 1024),
    "--tmpfs",
    "/run",
    "--bind",
    src({ source: spec.workspace, kind: "dir" }),
    "/work",
  ];
  for (const m of spec.mounts) opts.push(m.readOnly ? "--ro-bind" : "--bind", src(m), m.target);
  const checks = spec.mountChecks ?? [];
  // With mount checks, the tenant's variables reach only the command, after the check (fd 5).
  const env: Record<string, string> = { ...SANDBOX_ENV_BASE, ...(checks.length ? {} : spec.env) };
  if (checks.length) opts.push("--perms", "0444", "--ro-bind-data", "5", ENV_FILE_IN_SANDBOX);
  let command = withMountCheck(checks, spec.command);
  if (spec.egress) {
    opts.push("--bind", src({ source: spec.egress.socketPath, kind: "file" }), "/run/egress.sock");
    for (const m of spec.egress.bridge.mounts) opts.push("--ro-bind", src(m), m.target);
    Object.assign(env, spec.egress.bridge.env);
    command = withBridge(spec.egress.bridge, command);
  }
  for (const [k, v] of Object.entries(env)) opts.push("--setenv", k, v);
  // The root bwrap assembled (a tmpfs holding the mount points) is read-only too: only /work, /tmp
  // and /run take writes.
  opts.push("--remount-ro", "/", "--chdir", "/work", "--seccomp", "3");
  const fd4 = new TextEncoder().encode(opts.map((a) => `${a}\0`).join(""));

  const bwrap = [host.bwrapPath, "--args", "4", "--", ...command];
  const procs = cgroup?.procsFiles ?? [];
  let argv: string[];
  if (stage) {
    if (!host.setprivPath || !host.unsharePath) throw new Error("running sandboxes as root needs unshare and setpriv (util-linux)");
    const inner = [
      host.setprivPath,
      `--reuid=${host.identity.uid}`,
      `--regid=${host.identity.gid}`,
      "--clear-groups",
      "--",
      ...bwrap,
    ];
    argv = [
      host.unsharePath,
      "--mount",
      "--propagation",
      "private",
      "--",
      "/bin/sh",
      "-c",
      STAGE_SCRIPT,
      "openclaw-stage",
      stage,
      String(procs.length),
      ...procs,
      rlimitScript(spec, cgroup),
      String(staged.length),
      ...staged.flatMap((s) => [s.source, s.name, s.kind]),
      "--",
      ...inner,
    ];
  } else {
    argv = ["/bin/sh", "-c", PLAIN_SCRIPT, "openclaw-run", String(procs.length), ...procs, rlimitScript(spec, cgroup), "--", ...bwrap];
  }
  const extraFds = [host.seccomp, fd4];
  if (checks.length) extraFds.push(new TextEncoder().encode(envScript(spec.env)));
  return { argv, extraFds };
}
