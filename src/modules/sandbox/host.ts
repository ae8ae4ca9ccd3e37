// What this host offers the sandboxes: bwrap (version, --disable-userns), the tools the root path
// needs, the seccomp generator's self-test, the resource limiter, Docker and its runtimes. Static
// probes only; the live check (a real sandbox run) lives in the service.
import { detectCgroups, type CgroupSupport } from "./cgroups.ts";
import { hostSeccompArch, selfTest, type SeccompArch, type SelfTestResult } from "./seccomp/policy.ts";
import type { SandboxIdentity } from "./sandbox.types.ts";

export interface BwrapProbe {
  path: string | null;
  version: string | null;
  disableUserns: boolean;
  problem: string | null;
}

export interface DockerProbe {
  path: string | null;
  serverVersion: string | null;
  runtimes: Record<string, { path?: string; runtimeArgs?: string[] }>;
  problem: string | null;
}

export interface HostProbe {
  arch: SeccompArch | null;
  identity: SandboxIdentity;
  bwrap: BwrapProbe;
  setprivPath: string | null;
  unsharePath: string | null;
  seccomp: SelfTestResult;
  cgroups: CgroupSupport;
}

export function sandboxIdentity(): SandboxIdentity {
  const uid = process.getuid?.() ?? 65534;
  const gid = process.getgid?.() ?? 65534;
  // Sandboxed code never maps to host root: a root gateway runs it as nobody.
  if (uid === 0) return { uid: 65534, gid: 65534, viaStage: true };
  return { uid, gid, viaStage: false };
}

function run(argv: string[], searchPath: string, timeoutMs = 5000): { code: number | null; stdout: string; stderr: string } {
  try {
    const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", timeout: timeoutMs, env: { PATH: searchPath } });
    return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  } catch (err) {
    return { code: null, stdout: "", stderr: err instanceof Error ? err.message : String(err) };
  }
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** `searchPath`: the gateway's PATH (config/env.ts), where the host tools are looked up. */
export function probeBwrap(searchPath: string): BwrapProbe {
  const path = Bun.which("bwrap", { PATH: searchPath });
  if (!path) return { path: null, version: null, disableUserns: false, problem: "bwrap is not installed (apt-get install bubblewrap)" };
  const v = run([path, "--version"], searchPath);
  const version = /(\d+\.\d+(?:\.\d+)?)/.exec(v.stdout)?.[1] ?? null;
  const help = run([path, "--help"], searchPath);
  const disableUserns = /--disable-userns/.test(help.stdout + help.stderr);
  let problem: string | null = null;
  if (!version) problem = `cannot read the bwrap version (${v.stderr.trim() || "no output"})`;
  else if (compareVersions(version, "0.8.0") < 0 || !disableUserns) problem = `bwrap ${version} lacks --disable-userns (0.8.0 or later is required)`;
  return { path, version, disableUserns, problem };
}

export function probeDocker(searchPath: string): DockerProbe {
  const path = Bun.which("docker", { PATH: searchPath });
  if (!path) return { path: null, serverVersion: null, runtimes: {}, problem: "docker is not installed" };
  const v = run([path, "version", "--format", "{{.Server.Version}}"], searchPath);
  if (v.code !== 0) return { path, serverVersion: null, runtimes: {}, problem: `the Docker engine is not reachable: ${v.stderr.trim().split("\n")[0] || "no answer"}` };
  const info = run([path, "info", "--format", "{{json .Runtimes}}"], searchPath);
  let runtimes: DockerProbe["runtimes"] = {};
  try {
    runtimes = JSON.parse(info.stdout.trim() || "{}");
  } catch {
    runtimes = {};
  }
  return { path, serverVersion: v.stdout.trim(), runtimes, problem: null };
}

export function probeHost(searchPath: string): HostProbe {
  const arch = hostSeccompArch();
  return {
    arch,
    identity: sandboxIdentity(),
    bwrap: probeBwrap(searchPath),
    setprivPath: Bun.which("setpriv", { PATH: searchPath }),
    unsharePath: Bun.which("unshare", { PATH: searchPath }),
    seccomp: arch ? selfTest(arch) : { ok: false, instructions: 0, failures: [`no seccomp policy for architecture ${process.arch}`] },
    cgroups: detectCgroups(),
  };
}

export function dockerImagePresent(dockerPath: string, image: string, searchPath: string): boolean {
  return run([dockerPath, "image", "inspect", "--format", "{{.Id}}", image], searchPath).code === 0;
}
