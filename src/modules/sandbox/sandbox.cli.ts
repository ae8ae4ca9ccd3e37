// `openclaw sandbox exec | status | image build`: run a command in a tenant's sandbox as the operator,
// show what the host offers, build the local image for docker mode.
import { CliError, commandsFor, commonArgs, type CliTree } from "../module-cli.ts";
import type { DiskGuard } from "../disk/disk.service.ts";
import { buildSandboxImage } from "./image.ts";
import type { SandboxService } from "./sandbox.service.ts";
import { DEFAULT_IMAGE, type SandboxMode } from "./sandbox.types.ts";

type Services = { sandbox: SandboxService; disk: DiskGuard };
const command = commandsFor<Services>();

const exec = command({
  description: "Run a command in a tenant's sandbox (streams its output; exits with its exit code, 128 + signal when killed)",
  args: {
    ...commonArgs,
    tenant: { type: "string", required: true, description: "tenant id" },
    mode: { type: "string", description: "bwrap or docker (must be among sandbox.allowedModes)" },
    allow: { type: "string", description: "host:port the command may reach (repeatable); none by default" },
    tool: { type: "string", description: "take egress from this tool's allow-list in the tenant's overlay" },
    env: { type: "string", description: "NAME=VALUE for the command's environment (repeatable)" },
    timeout: { type: "string", description: "seconds, at most the tenant's limit" },
  },
  async run({ sandbox }, args, io) {
    const sep = io.raw.indexOf("--");
    const cmd = sep >= 0 ? io.raw.slice(sep + 1) : [];
    if (cmd.length === 0) throw new CliError("give the command after --, e.g. openclaw sandbox exec --tenant acme -- ls -la");
    if (args.mode !== undefined && args.mode !== "bwrap" && args.mode !== "docker") throw new CliError(`--mode must be bwrap or docker, not ${JSON.stringify(args.mode)}`);
    const env: Record<string, string> = {};
    for (const kv of io.repeated("env")) {
      const i = kv.indexOf("=");
      if (i <= 0) throw new CliError(`--env ${JSON.stringify(kv)} must be NAME=VALUE`);
      env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    let timeoutSeconds: number | undefined;
    if (args.timeout !== undefined) {
      timeoutSeconds = Number(args.timeout);
      if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) throw new CliError(`--timeout must be a whole number of seconds`);
    }
    const stdin = await io.stdin();
    const allow = io.repeated("allow");
    const result = await sandbox.run({
      tenant: io.operator.tenant(args.tenant),
      command: [...cmd],
      stdin,
      env,
      timeoutSeconds,
      mode: args.mode as SandboxMode | undefined,
      tool: args.tool,
      allow,
      origin: "operator",
      signal: io.signal,
      onStdout: args.json ? undefined : (c) => io.write(c),
      onStderr: args.json ? undefined : (c) => io.writeErr(c),
    });
    if (args.json) io.line(JSON.stringify(result, null, 2));
    else {
      if (result.stdoutTruncated || result.stderrTruncated) io.warn("openclaw: output truncated at the tenant's limit");
      if (result.timedOut) io.warn(`openclaw: killed after the ${timeoutSeconds ?? "configured"}-second timeout`);
      if (result.killedReason === "disk-limit") io.warn("openclaw: killed: the tenant's directory went past its disk limit (sandbox.limits.diskMb / inodes)");
      if (result.killedReason === "disk-reserve") io.warn("openclaw: killed: free space fell under the gateway's reserve (gateway.diskReserveMb / diskReserveInodes)");
      if (result.killedReason?.startsWith("tenant-")) io.warn(`openclaw: killed: the tenant was ${result.killedReason.slice("tenant-".length)}`);
    }
    io.exitCode(result.exitCode ?? 1);
  },
});

const imageBuild = command({
  description: "Build the minimal docker-mode image locally (busybox, the C library, CA certificates; no registry)",
  args: {
    ...commonArgs,
    tag: { type: "string", description: `image tag (default ${DEFAULT_IMAGE}, or sandbox.docker.image)` },
    include: { type: "string", description: "extra host binary to copy in with its libraries (repeatable)" },
  },
  async run({ sandbox }, args, io) {
    const tag = args.tag ?? sandbox.dockerImage();
    const result = await buildSandboxImage({ tag, include: io.repeated("include"), log: args.json ? undefined : (l) => io.line(l) });
    io.emit(result, () => io.line(`built ${result.tag} (${result.id.slice(0, 19)})`));
  },
});

const status = command({
  description: "What this host offers the sandboxes: bwrap, seccomp, limits, disk limits and the reserve, Docker and gVisor",
  args: { ...commonArgs },
  async run({ sandbox, disk }, _args, io) {
    const s = await sandbox.status({ refresh: true, docker: true });
    const d = disk.status();
    io.emit({ ...s, disk: d }, () => {
      io.line(`bwrap: ${s.modes.bwrap.usable ? "usable" : `unavailable (${s.modes.bwrap.reason})`}${s.host.bwrap.version ? ` — bubblewrap ${s.host.bwrap.version}` : ""}`);
      io.line(`docker: ${s.modes.docker.usable ? "usable" : `unavailable (${s.modes.docker.reason})`}${s.docker?.serverVersion ? ` — engine ${s.docker.serverVersion}, runtimes ${Object.keys(s.docker.runtimes).join(", ")}` : ""}`);
      io.line(`seccomp: ${s.host.seccomp.ok ? `self-test passed (${s.host.seccomp.instructions} instructions, ${s.host.arch})` : `self-test FAILED: ${s.host.seccomp.failures.join("; ")}`}`);
      io.line(`limits: ${s.host.cgroups.limiter} — ${s.host.cgroups.note}`);
      for (const w of s.warnings) io.line(`WARNING: ${w}`);
      io.line(`identity: sandboxed code runs as host uid ${s.host.identity.uid}${s.host.identity.viaStage ? " (the gateway is root)" : ""}`);
      io.line(`mounts: ${s.mounts.method} — ${s.mounts.detail}`);
      io.line(
        `disk: ${d.mechanism} — per tenant ${d.ceilings.diskMb} MiB and ${d.ceilings.inodes} names; reserve ${Math.floor(d.reserve.bytes / 1048576)} MiB and ${d.reserve.inodes} inodes` +
          ` (${Math.floor(d.free.bytes / 1048576)} MiB free${d.belowReserve ? ", UNDER THE RESERVE: tenant writes are refused" : ""}); ${d.filesystem.projectQuota.detail}`,
      );
    });
  },
});

export const sandboxCli: CliTree<Services> = {
  sandbox: {
    description: "Run commands in tenant sandboxes; build the docker-mode image; show sandbox support",
    commands: { exec, image: { description: "Sandbox images for docker mode", commands: { build: imageBuild } }, status },
  },
};
