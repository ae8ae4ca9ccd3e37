// The compiled binary, built once per test run and copied alone into a temp directory, so smoke
// tests prove it needs nothing beside it.
import fs from "node:fs";
import path from "node:path";
import { makeHome } from "./core.ts";

export const ROOT = path.join(import.meta.dir, "..", "..");
let built: string | null = null;

export function binary(): string {
  if (built) return built;
  const r = Bun.spawnSync(["bun", "run", "build"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`build failed: ${r.stderr.toString()}`);
  const dir = makeHome();
  const dest = path.join(dir, "openclaw");
  fs.copyFileSync(path.join(ROOT, "dist", "openclaw"), dest);
  fs.chmodSync(dest, 0o755);
  built = dest;
  return dest;
}

export function run(bin: string, args: string[], env: Record<string, string> = {}) {
  const r = Bun.spawnSync([bin, ...args], { cwd: "/", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

export interface RunningGateway {
  proc: ReturnType<typeof Bun.spawn>;
  url: string;
  logs: () => string;
}

/** Starts `openclaw gateway --port 0 --json` and waits for the URL it prints. */
export async function startGatewayProcess(cmd: string[], env: Record<string, string>): Promise<RunningGateway> {
  const proc = Bun.spawn([...cmd, "gateway", "--port", "0", "--json"], { cwd: "/", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, stdout: "pipe", stderr: "pipe" });
  let stderr = "";
  void (async () => {
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) stderr += Buffer.from(chunk).toString();
  })();
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let out = "";
  const deadline = Date.now() + 15_000;
  while (!out.includes("\n")) {
    if (Date.now() > deadline) throw new Error(`gateway did not start: ${stderr}`);
    const { done, value } = await reader.read();
    if (done) throw new Error(`gateway exited: ${stderr}`);
    out += Buffer.from(value).toString();
  }
  reader.releaseLock();
  const { url } = JSON.parse(out.split("\n")[0]!) as { url: string };
  return { proc, url, logs: () => stderr };
}
