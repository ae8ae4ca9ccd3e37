// Overlay mounts when the gateway is not root: it cannot bind a descriptor, so bwrap (or dockerd)
// binds the checked path and the sandbox compares the mounted object with the checked one before
// the command starts. Run through the CLI as an unprivileged user (uid 4242), the way the systemd
// unit runs the gateway — the compiled binary, copied where that user can reach it, wherever the
// checkout lives. When the suite itself runs unprivileged, every other sandbox test already takes
// this path in process, so this file needs root only to switch users.
import { beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { binary } from "../../helpers/binary.ts";
import { ensureSandboxImage } from "../../helpers/sandbox.ts";
import { hostSwapper, LEGIT_OUTPUT, legitDir, listing, runMany, summary, verdictOf, type Verdict } from "./mount-race.ts";

const UID = 4242;
const owner = { uid: UID, gid: UID };
const dockerGid = fs.statSync("/var/run/docker.sock", { throwIfNoEntry: false })?.gid;

interface Gateway {
  home: string;
  tenant(id: string): string;
  /** `stdout` is null when the gateway refused the run; `stderr` then holds the reason. */
  exec(args: string[], mode: string, env?: Record<string, string>): Promise<{ code: number; stdout: string | null; stderr: string }>;
}

function chownTree(p: string) {
  fs.chownSync(p, UID, UID);
  if (fs.lstatSync(p).isDirectory()) for (const n of fs.readdirSync(p)) chownTree(path.join(p, n));
}

/** A gateway home owned by uid 4242, with tenants alpha and beta, driven through the CLI as that user. */
function unprivilegedGateway(config: Record<string, unknown>): Gateway {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-nonroot-"));
  fs.chmodSync(base, 0o755);
  const home = path.join(base, "home");
  fs.mkdirSync(home, { mode: 0o700 });
  fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify(config), { mode: 0o600 });
  const bin = path.join(base, "openclaw");
  fs.copyFileSync(binary(), bin);
  fs.chmodSync(bin, 0o755);
  chownTree(base);
  const argv = (args: string[]) => ["setpriv", `--reuid=${UID}`, `--regid=${UID}`, ...(dockerGid !== undefined ? [`--groups=${dockerGid}`] : ["--clear-groups"]), "--", bin, ...args.slice(0, 2), "--home", home, ...args.slice(2)];
  for (const id of ["alpha", "beta"]) {
    const r = Bun.spawnSync(argv(["tenants", "create", id]), { cwd: "/", env: { PATH: "/usr/bin:/bin", HOME: base } });
    if (r.exitCode !== 0) throw new Error(`tenants create ${id} as uid ${UID}: ${r.stderr.toString()}`);
  }
  return {
    home,
    tenant: (id) => path.join(home, "tenants", id),
    async exec(command, mode, env = {}) {
      const envArgs = Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]);
      const p = Bun.spawn(argv(["sandbox", "exec", "--tenant", "alpha", "--mode", mode, "--json", ...envArgs, "--", ...command]), { cwd: "/", env: { PATH: "/usr/bin:/bin", HOME: base }, stdout: "pipe", stderr: "pipe" });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      // With --json a run that happened prints its result (whatever the command's exit code), a
      // refused one {"error": {code, message}}.
      let r: { stdout?: string; stderr?: string; exitCode?: number; error?: { code: string; message: string } };
      try {
        r = JSON.parse(out);
      } catch {
        return { code: code || 1, stdout: null, stderr: `no result (exit ${code}): ${err.trim().slice(-300)}` };
      }
      if (r.error) return { code: code || 1, stdout: null, stderr: `${r.error.code}: ${r.error.message}` };
      return { code: r.exitCode!, stdout: r.stdout!, stderr: r.stderr! };
    },
  };
}

const MODES = [
  { label: "bwrap", mode: "bwrap", runtime: "runc", runs: 30 },
  { label: "docker", mode: "docker", runtime: "runc", runs: 8 },
  { label: "runsc", mode: "docker", runtime: "runsc", runs: 0 },
];

beforeAll(async () => {
  await ensureSandboxImage();
});

describe.if(process.getuid?.() === 0)("overlay mounts with an unprivileged gateway (uid 4242)", () => {
  for (const m of MODES) {
    test(`${m.label}: the mount is readable and is the checked directory; the tenant's variables arrive${m.runtime === "runc" ? " after the check; a swap to a link is never bound" : ""}`, async () => {
      const g = unprivilegedGateway({ sandbox: { allowedModes: ["bwrap", "docker"], docker: { runtime: m.runtime } } });
      const alpha = g.tenant("alpha");
      legitDir(path.join(alpha, "plugins", "sub"), owner);
      fs.writeFileSync(path.join(g.tenant("beta"), "workspace", "secret.txt"), "beta's secret");
      fs.writeFileSync(path.join(alpha, "openclaw.json"), JSON.stringify({ sandbox: { mounts: [{ source: "plugins/sub", target: "/mnt/x" }] } }));
      fs.chownSync(path.join(alpha, "openclaw.json"), UID, UID);

      const tricky = "it's \"quoted\"; $HOME `x` \\ =";
      const ok = await g.exec(["/bin/sh", "-c", `${listing("/mnt/x")[2]}; echo "$TRICKY"; cat /proc/1/cmdline | tr '\\0' ' '`], m.mode, { TRICKY: tricky });
      expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: "" });
      expect(ok.stdout?.startsWith(`${LEGIT_OUTPUT}${tricky}\n`)).toBe(true);
      // bwrap and runc show the host's device and inode numbers, so the sandbox checks them; gVisor does not.
      if (m.runtime === "runc") expect(ok.stdout).toContain("stat -c %d:%i /mnt/x");
      // bwrap's pid 1 keeps the environment bwrap was started with: empty, nothing of the gateway's.
      if (m.mode === "bwrap") expect((await g.exec(["/bin/sh", "-c", "tr '\\0' '\\n' < /proc/1/environ"], m.mode)).stdout).toBe("");

      // Under gVisor the sandbox cannot see the host's inode numbers, so nothing verifies the bind
      // there: that combination relies on the path having no component a tenant can change
      // (README, "Sandbox mounts and the host's layout"), and is not raced here.
      if (m.runtime !== "runc") return;
      const swap = hostSwapper(path.join(alpha, "plugins"), "sub", ["/", path.join(g.tenant("beta"), "workspace")]);
      const verdicts: Verdict[] = await runMany(m.runs, 3, async () => {
        const r = await g.exec(listing("/mnt/x"), m.mode);
        // bwrap itself may refuse a source that changes under it; then nothing ran.
        if (r.stdout === "" && r.stderr.startsWith("bwrap: ")) return verdictOf(null, r.stderr.trim());
        return verdictOf(r.stdout, r.stdout === null ? r.stderr : null, r.stderr);
      });
      await swap.stop();
      console.log(`${m.label} (uid ${UID}) mount race: ${JSON.stringify(summary(verdicts))}; outcomes: ${[...new Set(verdicts.map((v) => (v.kind === "refused" ? v.detail.replace(/"[^"]*"/g, '"…"') : v.kind)))].join(" | ")}`);
      expect(verdicts.filter((v) => v.kind === "LEAK")).toEqual([]);
      expect(verdicts.filter((v) => v.kind === "unreadable")).toEqual([]);
      expect((await g.exec(listing("/mnt/x"), m.mode)).stdout).toBe(LEGIT_OUTPUT);
    }, 180_000);
  }

  test("bwrap: the tenant's LD_PRELOAD reaches its command but not the programs that check the mounts", async () => {
    const g = unprivilegedGateway({});
    const alpha = g.tenant("alpha");
    legitDir(path.join(alpha, "plugins", "sub"), owner);
    fs.writeFileSync(path.join(alpha, "openclaw.json"), JSON.stringify({ sandbox: { mounts: [{ source: "plugins/sub", target: "/mnt/x" }] } }));
    fs.chownSync(path.join(alpha, "openclaw.json"), UID, UID);
    const src = path.join(path.dirname(g.home), "preload.c");
    fs.writeFileSync(src, `#include <stdio.h>\n#include <stdlib.h>\n__attribute__((constructor)) static void hi(void) { char b[256] = {0}; FILE *f = fopen("/proc/self/cmdline", "r"); if (f) { size_t n = fread(b, 1, 255, f); for (size_t i = 0; i < n; i++) if (!b[i]) b[i] = ' '; fclose(f); } fprintf(stderr, "preloaded into: %s\\n", b); }\n`);
    const so = path.join(alpha, "workspace", "preload.so");
    const cc = Bun.spawnSync(["gcc", "-shared", "-fPIC", "-o", so, src], { stderr: "pipe" });
    expect(cc.stderr.toString()).toBe("");
    fs.chownSync(so, UID, UID);
    const r = await g.exec(["/bin/cat", "/mnt/x/legit.txt"], "bwrap", { LD_PRELOAD: "/work/preload.so" });
    expect({ stdout: r.stdout, code: r.code }).toEqual({ stdout: "legit content\n", code: 0 });
    expect(r.stderr.trim().split("\n")).toEqual(["preloaded into: /bin/cat /mnt/x/legit.txt"]);
  }, 60_000);
});
