// What a sandbox can learn of the host's layout from /proc: pid 1's environment and directory, and
// the mount table. Pid 1 shows nothing of the gateway's (no PWD, no home); the mount table shows no
// other tenant, no staging directory, no gateway directory — the one thing the kernel always prints
// is the path, inside its file system, of each directory bound in (/work and the /mnt mounts;
// gVisor hides even that; a mount copied into a tmpfs shows only the tmpfs), which README "Sandbox
// mounts and the host's layout" explains.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { ensureSandboxImage, MODES, sandboxWorld } from "../../helpers/sandbox.ts";
import { homeOn, unmountHomes } from "./mount-fs.ts";
import { legitDir } from "./mount-race.ts";

beforeAll(async () => {
  await ensureSandboxImage();
});
afterAll(unmountHomes);

/**
 * Whether `dir` appears in `text` as a path: the directory itself or anything under it, compared
 * component by component — "/p" is not in "/proc", "/home-1" is not in "/home-12". Paths end at
 * white space and at the separators of mount options and variables (`,` `:` `=`).
 */
function mentionsPath(text: string, dir: string): boolean {
  const d = dir.replace(/\/+$/, "") || "/";
  return text.split(/[\s,:=]+/).some((tok) => {
    const p = tok.replace(/\/+$/, "");
    return p === d || p.startsWith(d === "/" ? "/" : `${d}/`);
  });
}

const SCRIPT = "tr '\\0' '\\n' < /proc/1/environ; echo ---; cat /proc/self/mountinfo; echo ---; readlink /proc/1/cwd; readlink /proc/self/cwd";

/** `p` as the kernel prints it in a bind mount's line: its path inside the file system that holds it. */
function pathInItsFs(p: string): string {
  const entries = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter(Boolean).map((l) => l.split(" "));
  const holder = entries.filter((f) => mentionsPath(p, f[4]!)).sort((a, b) => b[4]!.length - a[4]!.length)[0]!;
  return path.join(holder[3]!, path.relative(holder[4]!, p));
}

describe("mentionsPath compares path components, not substrings", () => {
  test("a directory, its children, in mount options and variables; never a longer name", () => {
    expect(mentionsPath("177 176 0:51 / /proc rw - proc proc rw", "/p")).toBe(false);
    expect(mentionsPath("x /home-12/run y", "/home-1")).toBe(false);
    expect(mentionsPath("x /p y", "/p")).toBe(true);
    expect(mentionsPath("x /p/ y", "/p")).toBe(true);
    expect(mentionsPath("194 176 0:41 /p/src /work rw", "/p")).toBe(true);
    expect(mentionsPath("overlay rw,lowerdir=/a:/p/l,upperdir=/u", "/p")).toBe(true);
    expect(mentionsPath("PWD=/p/tests\nPATH=/usr/bin:/p/bin", "/p")).toBe(true);
    expect(mentionsPath("PATH=/usr/local/bin:/usr/bin", "/p")).toBe(false);
    expect(mentionsPath("/tmp/x", "/")).toBe(true);
  });
});

describe("the sandbox sees nothing of the host's layout it need not", () => {
  for (const [kind, m] of (["suite", "overlay"] as const).flatMap((k) => MODES.map((m) => [k, m] as const))) {
    test(`${kind} home, ${m.label}: pid 1's environment and directory, and the mount table`, async () => {
      const w = sandboxWorld(m, {}, homeOn(kind));
      const root = w.core.tenants.dir(scope("alpha"));
      legitDir(path.join(root, "plugins", "tools"));
      w.core.overlays.set(scope("alpha"), { sandbox: { mounts: [{ source: "plugins/tools", target: "/mnt/tools" }] } }, operatorCtx);
      const r = await w.core.sandbox.run({ tenant: scope("alpha"), command: ["/bin/sh", "-c", SCRIPT], env: { OWN: "value" }, origin: "rpc" });
      expect(r.exitCode).toBe(0);
      const [environ, mountinfo, cwds] = r.stdout.split("---\n") as [string, string, string];
      const home = fs.realpathSync(w.core.home);
      const gatewayDir = process.cwd();

      // Pid 1: bwrap's own process (started with an empty environment) or docker's init (the container's).
      const names = environ.split("\n").filter(Boolean).map((l) => l.slice(0, l.indexOf("=")));
      expect(names.filter((n) => !["PATH", "HOSTNAME", "HOME", "TMPDIR", "LANG", "OWN"].includes(n))).toEqual([]);
      if (m.mode === "bwrap") expect(names).toEqual([]);
      for (const host of [home, gatewayDir]) expect({ host, inEnviron: mentionsPath(environ, host) }).toEqual({ host, inEnviron: false });
      expect(environ).not.toContain("beta");
      // (gVisor does not let the sandbox read pid 1's directory at all.)
      expect(cwds).toBe(m.runtime === "runsc" ? "/work\n" : "/work\n/work\n");

      // The mount table: nothing of another tenant, of the staging directory, of the gateway's directory.
      expect(mountinfo).not.toContain("beta");
      expect(mentionsPath(mountinfo, path.join(home, "run"))).toBe(false);
      expect(mentionsPath(mountinfo, gatewayDir)).toBe(false);
      const tenantInFs = pathInItsFs(root);
      const withHome = mountinfo.split("\n").filter((l) => mentionsPath(l, home) || mentionsPath(l, tenantInFs));
      if (m.runtime === "runsc") expect(withHome).toEqual([]);
      else {
        // Only the directories bound in, each under its own name: /work and the overlay mount —
        // unless the mount is a copy (no id-mapped mounts on this file system): then only the copy's
        // tmpfs shows, at its root.
        const copied = (await w.core.sandbox.status()).mounts.method === "copy";
        const seen = withHome.map((l) => l.split(" ").slice(3, 5).join(" ")).sort();
        expect(seen).toEqual(copied ? [`${tenantInFs}/workspace /work`] : [`${tenantInFs}/plugins/tools /mnt/tools`, `${tenantInFs}/workspace /work`].sort());
        if (copied) expect(mountinfo.split("\n").find((l) => l.split(" ")[4] === "/mnt/tools")).toMatch(/^\S+ \S+ \S+ \/ \/mnt\/tools .* - tmpfs /);
      }
      w.core.close();
    }, 60_000);
  }
});

// What else a sandbox could read of the host (red team 11 #12): the kernel command line and host-wide
// /proc tables (masked in bwrap), and in docker mode the engine's resolv.conf, hosts and hostname
// (naming the host's resolver, the engine's root and the container id), the host's sysfs and the
// container id in the cgroup mounts. Under runc, /proc/cmdline stays (runc refuses mounts in /proc;
// README "Sandbox mounts and the host's layout"); gVisor shows its own.
const HOST_SCRIPT = [
  "sleep 1.5",
  "echo \"hostname=$(hostname)\"",
  "for f in /etc/resolv.conf /etc/hosts /etc/hostname; do [ -e $f ] && echo \"$f=$(wc -c < $f)\"; done",
  "echo \"sys=$(ls -A /sys 2>/dev/null | tr '\\n' ' ')\"",
  "echo ---; cat /proc/cmdline; echo ---; cat /proc/self/cgroup /proc/self/mountinfo",
].join("; ");

describe("the sandbox reads nothing of the host's configuration it need not", () => {
  const hostCmdline = fs.readFileSync("/proc/cmdline", "utf8");
  for (const m of MODES) {
    test(`${m.label}: no host resolver, hosts, sysfs${m.runtime === "runc" ? ", container id" : ""}${m.mode === "bwrap" ? ", kernel command line or host-wide /proc tables" : ""}`, async () => {
      const w = sandboxWorld(m);
      const run = w.core.sandbox.run({ tenant: scope("alpha"), command: ["/bin/sh", "-c", HOST_SCRIPT], origin: "rpc" });
      // The container's id, read from the engine while the run lives.
      let containerId = "";
      for (let i = 0; m.mode === "docker" && !containerId && i < 40; i++) {
        const ps = Bun.spawnSync(["docker", "ps", "-q", "--no-trunc", "--filter", `label=openclaw.home=${w.core.sandbox.homeLabel}`], { stdout: "pipe" });
        containerId = ps.stdout.toString().trim();
        if (!containerId) await Bun.sleep(50);
      }
      const r = await run;
      expect({ exit: r.exitCode, stderr: r.stderr }).toEqual({ exit: 0, stderr: "" });
      const [head, cmdline, tables] = r.stdout.split("---\n") as [string, string, string];
      expect(head).toContain("hostname=sandbox\n");

      if (m.mode === "bwrap") {
        // No resolver, hosts or sysfs at all; the command line and host-wide tables read empty.
        expect(head).not.toContain("/etc/");
        expect(head).toContain("sys=\n");
        expect(cmdline).toBe("");
        const probe = await w.core.sandbox.run({
          tenant: scope("alpha"),
          command: ["/bin/sh", "-c", "for f in /proc/cmdline /proc/keys /proc/key-users /proc/timer_list /proc/sched_debug /proc/timer_stats /proc/latency_stats; do [ -e $f ] && echo \"$f $(cat $f | wc -c)\"; done; for d in /proc/acpi /proc/asound /proc/scsi; do [ -e $d ] && echo \"$d $(ls -A $d | wc -l)\"; done"],
          origin: "rpc",
        });
        const sizes = probe.stdout.trim().split("\n").filter(Boolean);
        expect(sizes.length).toBeGreaterThan(0);
        for (const line of sizes) expect(line).toMatch(/ 0$/);
        expect(probe.stderr).toBe("");
      } else {
        // docker: neutral (empty) resolver, hosts and hostname files; an empty /sys.
        expect(head).toContain("/etc/resolv.conf=0\n/etc/hosts=0\n/etc/hostname=0\n");
        expect(head).toContain("sys=\n");
        expect(tables).not.toContain("/var/lib/docker/containers");
        expect(tables).not.toMatch(/ - sysfs /);
        expect(containerId).toMatch(/^[0-9a-f]{64}$/);
        expect(tables).not.toContain(containerId);
        expect(tables).not.toContain(containerId.slice(0, 12));
        if (m.runtime === "runsc") expect(cmdline).not.toBe(hostCmdline);
      }
      w.core.close();
    }, 60_000);
  }
});
