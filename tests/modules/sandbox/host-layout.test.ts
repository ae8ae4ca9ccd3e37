// What a sandbox can learn of the host's layout from /proc: pid 1's environment and directory, and
// the mount table. Pid 1 shows nothing of the gateway's (no PWD, no home); the mount table shows no
// other tenant, no staging directory, no gateway directory — the one thing the kernel always prints
// is the path, inside its file system, of each directory bound in (/work and the /mnt mounts;
// gVisor hides even that), which README "Sandbox mounts and the host's layout" explains.
import { beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { ensureSandboxImage, MODES, sandboxWorld } from "../../helpers/sandbox.ts";
import { legitDir } from "./mount-race.ts";

beforeAll(async () => {
  await ensureSandboxImage();
});

const SCRIPT = "tr '\\0' '\\n' < /proc/1/environ; echo ---; cat /proc/self/mountinfo; echo ---; readlink /proc/1/cwd; readlink /proc/self/cwd";

describe("the sandbox sees nothing of the host's layout it need not", () => {
  for (const m of MODES) {
    test(`${m.label}: pid 1's environment and directory, and the mount table`, async () => {
      const w = sandboxWorld(m);
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
      for (const host of [home, gatewayDir, "beta"]) expect({ host, inEnviron: environ.includes(host) }).toEqual({ host, inEnviron: false });
      // (gVisor does not let the sandbox read pid 1's directory at all.)
      expect(cwds).toBe(m.runtime === "runsc" ? "/work\n" : "/work\n/work\n");

      // The mount table: nothing of another tenant, of the staging directory, of the gateway's directory.
      expect(mountinfo).not.toContain("beta");
      expect(mountinfo).not.toContain(path.join(home, "run"));
      expect(mountinfo).not.toContain(gatewayDir);
      const withHome = mountinfo.split("\n").filter((l) => l.includes(home));
      if (m.runtime === "runsc") expect(withHome).toEqual([]);
      else {
        // Only the directories bound in, each under its own name: /work and the overlay mount.
        const seen = withHome.map((l) => l.split(" ").slice(3, 5).join(" ")).sort();
        expect(seen).toEqual([`${root}/plugins/tools /mnt/tools`, `${root}/workspace /work`].sort());
      }
      w.core.close();
    }, 60_000);
  }
});
