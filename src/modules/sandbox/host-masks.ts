// What a sandbox would otherwise learn of the host, hidden where the backend lets us:
// - bwrap: the fresh /proc still shows the host kernel's command line and a few tables of host-wide
//   state (timers with host process names, key owners by host uid, ACPI and sound devices). Files are
//   covered with /dev/null (they read empty), directories with an empty read-only tmpfs — the set
//   Docker masks by default, plus /proc/cmdline. bwrap mounts no /sys and no /etc/resolv.conf at all.
// - docker (runc and gVisor): with `--network none` the engine would still bind its own resolv.conf
//   (the host's nameservers), hosts and hostname from /var/lib/docker/containers/<id>/ — naming the
//   container and the engine's root in the mount table; they are /dev/null here instead (no name
//   resolves: there is no network). /sys becomes an empty read-only tmpfs (the host's devices, CPU and
//   firmware tables otherwise), and the cgroup namespace is private (the cgroup mounts showed the
//   container id). runc refuses any mount inside /proc and the CLI cannot extend Docker's masked
//   paths, so /proc/cmdline stays readable under runc; gVisor shows its own.
// What remains is listed in README "Sandbox mounts and the host's layout".
import fs from "node:fs";

/** /proc files showing host-wide state (read empty inside bwrap). */
export const PROC_MASKED_FILES = ["/proc/cmdline", "/proc/kcore", "/proc/keys", "/proc/key-users", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug"];
/** /proc directories listing host devices (empty inside bwrap). */
export const PROC_MASKED_DIRS = ["/proc/acpi", "/proc/asound", "/proc/scsi"];

let bwrapArgs: string[] | null = null;

/** bwrap options, after `--proc /proc`: each masked path this kernel has. */
export function bwrapProcMasks(): string[] {
  if (bwrapArgs) return bwrapArgs;
  const out: string[] = [];
  // A bind of /dev/null needs --dev-bind: bwrap's plain binds are nodev, and the file would not open.
  for (const f of PROC_MASKED_FILES) if (fs.existsSync(f)) out.push("--dev-bind", "/dev/null", f);
  for (const d of PROC_MASKED_DIRS) if (fs.existsSync(d)) out.push("--perms", "0555", "--size", "4096", "--tmpfs", d, "--remount-ro", d);
  return (bwrapArgs = out);
}

/** The files Docker would bind from the container's directory in the engine's root. */
export const DOCKER_NEUTRAL_FILES = ["/etc/resolv.conf", "/etc/hosts", "/etc/hostname"];

/** `docker run` options: neutral network files, no host sysfs, a private cgroup namespace. */
export function dockerHostMasks(): string[] {
  const out = ["--cgroupns", "private", "--mount", "type=tmpfs,dst=/sys,readonly,tmpfs-size=4096"];
  for (const f of DOCKER_NEUTRAL_FILES) out.push("--mount", `type=bind,src=/dev/null,dst=${f},readonly`);
  return out;
}
