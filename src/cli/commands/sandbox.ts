// `openclaw sandbox`: run a command in a tenant's sandbox as the operator, build the local image for
// docker mode, and show what the host offers.
import { defineCommand } from "citty";
import { CliError, action, commonArgs, emit, line, withCore, type CommonArgs } from "../context.ts";
import { DEFAULT_IMAGE } from "../../modules/sandbox/sandbox.service.ts";
import { buildSandboxImage } from "../../modules/sandbox/image.ts";
import type { SandboxMode } from "../../modules/sandbox/sandbox.types.ts";

/** Values of a repeatable flag (`--allow a --allow b`), read from the raw arguments before `--`. */
export function repeated(rawArgs: string[], flag: string): string[] {
  const out: string[] = [];
  const end = rawArgs.indexOf("--");
  const args = end < 0 ? rawArgs : rawArgs.slice(0, end);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === `--${flag}`) {
      const v = args[i + 1];
      if (v === undefined || v.startsWith("--")) throw new CliError(`--${flag} needs a value`);
      out.push(v);
      i++;
    } else if (a.startsWith(`--${flag}=`)) out.push(a.slice(flag.length + 3));
  }
  return out;
}

const exec = defineCommand({
  meta: { name: "exec", description: "Run a command in a tenant's sandbox (streams its output; exits with its exit code, 128 + signal when killed)" },
  args: {
    ...commonArgs,
    tenant: { type: "string", required: true, description: "tenant id" },
    mode: { type: "string", description: "bwrap or docker (must be among sandbox.allowedModes)" },
    allow: { type: "string", description: "host:port the command may reach (repeatable); none by default" },
    tool: { type: "string", description: "take egress from this tool's allow-list in the tenant's overlay" },
    env: { type: "string", description: "NAME=VALUE for the command's environment (repeatable)" },
    timeout: { type: "string", description: "seconds, at most the tenant's limit" },
  },
  run: action<CommonArgs & { tenant: string; mode?: string; tool?: string; timeout?: string }>(async (args, raw) => {
    const sep = raw.indexOf("--");
    const command = sep >= 0 ? raw.slice(sep + 1) : [];
    if (command.length === 0) throw new CliError("give the command after --, e.g. openclaw sandbox exec --tenant acme -- ls -la");
    if (args.mode !== undefined && args.mode !== "bwrap" && args.mode !== "docker") throw new CliError(`--mode must be bwrap or docker, not ${JSON.stringify(args.mode)}`);
    const env: Record<string, string> = {};
    for (const kv of repeated(raw, "env")) {
      const i = kv.indexOf("=");
      if (i <= 0) throw new CliError(`--env ${JSON.stringify(kv)} must be NAME=VALUE`);
      env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    let timeoutSeconds: number | undefined;
    if (args.timeout !== undefined) {
      timeoutSeconds = Number(args.timeout);
      if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) throw new CliError(`--timeout must be a whole number of seconds`);
    }
    const stdin = process.stdin.isTTY ? null : new Uint8Array(await Bun.stdin.arrayBuffer());
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const result = await withCore(args, (core) =>
      core.sandbox.run({
        tenantId: args.tenant,
        command,
        stdin,
        env,
        timeoutSeconds,
        mode: args.mode as SandboxMode | undefined,
        tool: args.tool,
        allow: repeated(raw, "allow"),
        origin: "operator",
        signal: abort.signal,
        onStdout: args.json ? undefined : (c) => process.stdout.write(c),
        onStderr: args.json ? undefined : (c) => process.stderr.write(c),
      }),
    );
    if (args.json) line(JSON.stringify(result, null, 2));
    else {
      if (result.stdoutTruncated || result.stderrTruncated) process.stderr.write(`openclaw: output truncated at the tenant's limit\n`);
      if (result.timedOut) process.stderr.write(`openclaw: killed after the ${timeoutSeconds ?? "configured"}-second timeout\n`);
      if (result.killedReason === "disk-limit") process.stderr.write(`openclaw: killed: the tenant's directory went past its disk limit (sandbox.limits.diskMb / inodes)\n`);
      if (result.killedReason === "disk-reserve") process.stderr.write(`openclaw: killed: free space fell under the gateway's reserve (gateway.diskReserveMb / diskReserveInodes)\n`);
      if (result.killedReason?.startsWith("tenant-")) process.stderr.write(`openclaw: killed: the tenant was ${result.killedReason.slice("tenant-".length)}\n`);
    }
    process.exit(result.exitCode ?? 1);
  }),
});

const imageBuild = defineCommand({
  meta: { name: "build", description: "Build the minimal docker-mode image locally (busybox, the C library, CA certificates; no registry)" },
  args: {
    ...commonArgs,
    tag: { type: "string", description: `image tag (default ${DEFAULT_IMAGE}, or sandbox.docker.image)` },
    include: { type: "string", description: "extra host binary to copy in with its libraries (repeatable)" },
  },
  run: action<CommonArgs & { tag?: string }>(async (args, raw) => {
    const tag = args.tag ?? (await withCore(args, (core) => core.config.sandbox.docker?.image ?? DEFAULT_IMAGE));
    const result = await buildSandboxImage({ tag, include: repeated(raw, "include"), log: args.json ? undefined : (l) => line(l) });
    emit(args, result, () => line(`built ${result.tag} (${result.id.slice(0, 19)})`));
  }),
});

const status = defineCommand({
  meta: { name: "status", description: "What this host offers the sandboxes: bwrap, seccomp, limits, disk limits and the reserve, Docker and gVisor" },
  args: { ...commonArgs },
  run: action<CommonArgs>((args) =>
    withCore(args, async (core) => {
      const s = await core.sandbox.status({ refresh: true, docker: true });
      const d = core.disk.status();
      emit(args, { ...s, disk: d }, () => {
        line(`bwrap: ${s.modes.bwrap.usable ? "usable" : `unavailable (${s.modes.bwrap.reason})`}${s.host.bwrap.version ? ` — bubblewrap ${s.host.bwrap.version}` : ""}`);
        line(`docker: ${s.modes.docker.usable ? "usable" : `unavailable (${s.modes.docker.reason})`}${s.docker?.serverVersion ? ` — engine ${s.docker.serverVersion}, runtimes ${Object.keys(s.docker.runtimes).join(", ")}` : ""}`);
        line(`seccomp: ${s.host.seccomp.ok ? `self-test passed (${s.host.seccomp.instructions} instructions, ${s.host.arch})` : `self-test FAILED: ${s.host.seccomp.failures.join("; ")}`}`);
        line(`limits: ${s.host.cgroups.limiter} — ${s.host.cgroups.note}`);
        for (const w of s.warnings) line(`WARNING: ${w}`);
        line(`identity: sandboxed code runs as host uid ${s.host.identity.uid}${s.host.identity.viaStage ? " (the gateway is root)" : ""}`);
        line(`mounts: ${s.mounts.method} — ${s.mounts.detail}`);
        line(
          `disk: ${d.mechanism} — per tenant ${d.ceilings.diskMb} MiB and ${d.ceilings.inodes} names; reserve ${Math.floor(d.reserve.bytes / 1048576)} MiB and ${d.reserve.inodes} inodes` +
            ` (${Math.floor(d.free.bytes / 1048576)} MiB free${d.belowReserve ? ", UNDER THE RESERVE: tenant writes are refused" : ""}); ${d.filesystem.projectQuota.detail}`,
        );
      });
    }),
  ),
});

export default defineCommand({
  meta: { name: "sandbox", description: "Run commands in tenant sandboxes; build the docker-mode image; show sandbox support" },
  subCommands: {
    exec,
    image: defineCommand({ meta: { name: "image", description: "Sandbox images for docker mode" }, subCommands: { build: imageBuild } }),
    status,
  },
});
