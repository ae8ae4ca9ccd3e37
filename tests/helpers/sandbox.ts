// Sandbox test worlds: a core whose config allows the mode under test, two tenants, and the real
// backends (bwrap, the Docker engine, gVisor). Nothing here is stood in for: a missing tool fails
// the suite (CI installs bubblewrap, docker.io, runsc, busybox-static and gcc).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Core } from "../../src/app/core.ts";
import { buildSandboxImage } from "../../src/modules/sandbox/image.ts";
import { sandboxIdentity } from "../../src/modules/sandbox/host.ts";
import type { ToolContext } from "../../src/modules/agents/tools/tool.ts";
import { DEFAULT_IMAGE } from "../../src/modules/sandbox/sandbox.types.ts";
import { createTenant, scope, testCore } from "./core.ts";

export type ModeUnderTest = { label: "bwrap" | "docker" | "runsc"; mode: "bwrap" | "docker"; runtime?: string };

export const MODES: ModeUnderTest[] = [
  { label: "bwrap", mode: "bwrap" },
  { label: "docker", mode: "docker", runtime: "runc" },
  { label: "runsc", mode: "docker", runtime: "runsc" },
];

let imageReady: Promise<void> | null = null;

/** Builds the docker-mode image once per test process if the engine does not have it yet. */
export function ensureSandboxImage(): Promise<void> {
  imageReady ??= (async () => {
    const inspect = Bun.spawnSync(["docker", "image", "inspect", DEFAULT_IMAGE], { stdout: "ignore", stderr: "ignore" });
    if (inspect.exitCode !== 0) await buildSandboxImage({ tag: DEFAULT_IMAGE });
  })();
  return imageReady;
}

export interface SandboxWorld {
  core: Core;
  alpha: string;
  beta: string;
  workspace(tenant: string): string;
}

/** `home`: a directory of the caller's (a home on a file system of its choice); a fresh one otherwise. */
export function sandboxWorld(m: ModeUnderTest, config: Record<string, unknown> = {}, home?: string): SandboxWorld {
  const sandbox = (config.sandbox ?? {}) as Record<string, unknown>;
  const core = testCore({
    home,
    config: {
      ...config,
      sandbox: {
        mode: m.mode,
        allowedModes: ["bwrap", "docker"],
        docker: { runtime: m.runtime ?? "runc" },
        ...sandbox,
      },
    },
  });
  const alpha = createTenant(core, "alpha");
  const beta = createTenant(core, "beta");
  const workspace = (t: string) => path.join(core.tenants.dir(scope(t)), "workspace");
  return { core, alpha, beta, workspace };
}

/** Puts a host file into a tenant's workspace, owned by the sandbox identity. */
export function placeInWorkspace(world: SandboxWorld, tenant: string, source: string, name: string, mode = 0o755): string {
  const ws = world.workspace(tenant);
  const id = sandboxIdentity();
  fs.chownSync(ws, id.uid, id.gid);
  const dest = path.join(ws, name);
  fs.copyFileSync(source, dest);
  fs.chmodSync(dest, mode);
  fs.chownSync(dest, id.uid, id.gid);
  return dest;
}

let probeBinary: string | null = null;

/** Compiles tests/modules/sandbox/probe.c statically (once), so it runs unchanged in every backend. */
export function compileProbe(): string {
  if (probeBinary) return probeBinary;
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-probe-")), "probe");
  const src = path.join(import.meta.dir, "../modules/sandbox/probe.c");
  const r = Bun.spawnSync(["gcc", "-static", "-O2", "-w", "-o", out, src], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`cannot compile the escape probes (gcc -static): ${r.stderr.toString()}`);
  fs.chmodSync(path.dirname(out), 0o755);
  return (probeBinary = out);
}

export function hostIPv4(): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  throw new Error("this host has no non-loopback IPv4 address for the network probes");
}

/** What a tool's `run` is given, for a tool run directly against a sandbox world (no agent loop). */
export function toolCtx(world: SandboxWorld, tenant: string, mounts?: ToolContext["mounts"]): ToolContext {
  return {
    tenant: scope(tenant),
    agentId: "main",
    sessionKey: "s",
    runId: "r",
    signal: new AbortController().signal,
    secondsLeft: 120,
    maxOutputBytes: 64 * 1024,
    services: { sandbox: world.core.sandbox } as ToolContext["services"],
    ...(mounts ? { mounts } : {}),
  };
}
