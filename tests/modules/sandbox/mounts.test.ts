// Overlay mounts (sandbox.mounts[]) in bwrap, docker and gVisor: readable inside although the
// tenant directory is root's and 0700, whatever file system the home is on (id-mapped where the file
// system allows it, a read-only tmpfs copy where it does not — overlayfs, a home inside a container),
// and `doctor` says which; every overlay rule applied again at run time on what is on disk (links
// anywhere on the path, the workspace, an overlay edited by hand); and the race of the outside
// review: while runs with a mount start, another run of the same tenant (or any writer) swaps a
// directory for a link to `/` or to another tenant's workspace. No run may ever see either.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { openMountSources } from "../../../src/modules/sandbox/mounts.ts";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { ensureSandboxImage, MODES, placeInWorkspace, sandboxWorld, type SandboxWorld } from "../../helpers/sandbox.ts";
import { HOME_FILESYSTEMS, homeOn, unmountHomes, type HomeFs } from "./mount-fs.ts";
import { hostSwapper, LEGIT_OUTPUT, legitDir, listing, runMany, sandboxOwner, compileSwapper, summary, verdictOf, type Verdict } from "./mount-race.ts";

beforeAll(async () => {
  await ensureSandboxImage();
});
afterAll(unmountHomes);

function writeOverlay(w: SandboxWorld, tenant: string, overlay: unknown) {
  fs.writeFileSync(path.join(w.core.tenants.dir(scope(tenant)), "openclaw.json"), JSON.stringify(overlay));
}

async function attempt(w: SandboxWorld, target: string): Promise<Verdict> {
  try {
    const r = await w.core.sandbox.run({ tenant: scope("alpha"), command: listing(target), origin: "rpc" });
    return verdictOf(r.stdout, null, r.stderr);
  } catch (err) {
    return verdictOf(null, (err as Error).message);
  }
}

const RUNS: Record<string, { a: number; b: number }> = { bwrap: { a: 20, b: 40 }, docker: { a: 6, b: 12 }, runsc: { a: 4, b: 8 } };

/** The line of a mount table (/proc/<pid>/mountinfo) whose mount point is `target`. */
const mountLine = (mountinfo: string, target: string) => mountinfo.split("\n").find((l) => l.split(" ")[4] === target) ?? "";

describe("overlay mounts work with a root gateway, whatever file system the home is on", () => {
  for (const kind of HOME_FILESYSTEMS) {
    for (const m of MODES) {
      test(`${kind} home, ${m.label}: a root-owned 0700 directory and a 0600 file are readable inside, and read-only; doctor says how`, async () => {
        const w = sandboxWorld(m, {}, homeOn(kind));
        const plugins = path.join(w.core.tenants.dir(scope("alpha")), "plugins");
        legitDir(path.join(plugins, "tools"));
        fs.chmodSync(plugins, 0o700);
        w.core.overlays.set(scope("alpha"), { sandbox: { mounts: [{ source: "plugins/tools", target: "/mnt/tools" }, { source: "plugins/tools/legit.txt", target: "/mnt/one.txt" }] } }, operatorCtx);
        const r = await w.core.sandbox.run({ tenant: scope("alpha"), command: ["/bin/sh", "-c", "ls /mnt/tools; cat /mnt/tools/legit.txt /mnt/one.txt; (echo x > /mnt/tools/new) 2>/dev/null || echo read-only; echo ---; cat /proc/self/mountinfo"], origin: "rpc" });
        const [out, mountinfo] = r.stdout.split("---\n") as [string, string];
        expect({ stdout: out, stderr: r.stderr }).toEqual({ stdout: `${LEGIT_OUTPUT}legit content\nread-only\n`, stderr: "" });
        expect(fs.readdirSync(path.join(plugins, "tools"))).toEqual(["legit.txt"]);

        // How the mount was made readable is what `sandbox status` and `doctor` report for this home.
        const status = await w.core.sandbox.status();
        const expectedFs: Record<HomeFs, string | null> = { suite: null, tmpfs: "tmpfs", overlay: "overlay" };
        if (expectedFs[kind]) expect(status.mounts.filesystem).toBe(expectedFs[kind]!);
        expect(["idmap", "copy"]).toContain(status.mounts.method);
        // gVisor shows its own mount table; bwrap and runc show the host's mount of /mnt/tools.
        if (m.runtime !== "runsc") {
          const line = mountLine(mountinfo, "/mnt/tools");
          expect(line.split(" ")[5]).toStartWith("ro");
          if (status.mounts.method === "idmap") expect(line).toContain("idmapped");
          else expect(line.split(" - ")[1]).toStartWith("tmpfs ");
        }
        if (m.label === "bwrap") {
          const check = (await w.core.doctor.run()).find((c) => c.name === "sandbox mounts")!;
          expect(check.status).toBe(status.mounts.method === "idmap" ? "ok" : "warn");
          expect(check.detail).toContain(status.mounts.filesystem);
          expect(check.detail).toContain(status.mounts.method === "idmap" ? "id-mapped mounts work" : "copied into a read-only tmpfs");
        }

        // Nothing is left mounted or staged on the host once the run is over.
        expect(fs.readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(w.core.home);
        const staging = path.join(w.core.home, "run", "mnt");
        expect(fs.existsSync(staging) ? fs.readdirSync(staging) : []).toEqual([]);
        w.core.close();
      }, 60_000);
    }
  }
});

describe("every mount rule is applied again at run time", () => {
  test("config time: a link anywhere on the source, the tenant directory itself, the workspace", () => {
    const w = sandboxWorld(MODES[0]!);
    const root = w.core.tenants.dir(scope("alpha"));
    legitDir(path.join(root, "plugins", "real"));
    fs.symlinkSync("real", path.join(root, "plugins", "lnk"));
    fs.symlinkSync("plugins", path.join(root, "plugins-link"));
    const set = (source: string) => () => w.core.overlays.set(scope("alpha"), { sandbox: { mounts: [{ source, target: "/mnt/x" }] } }, operatorCtx);
    expect(set("plugins/lnk")).toThrow('goes through the symbolic link "plugins/lnk"');
    expect(set("plugins-link/real")).toThrow('goes through the symbolic link "plugins-link"');
    expect(set(".")).toThrow("names the tenant directory itself");
    expect(set("./workspace/../plugins")).toThrow('contains ".."');
    fs.mkdirSync(path.join(w.workspace("alpha"), "d"));
    expect(set("./workspace/d")).toThrow("is in the workspace");
    w.core.overlays.set(scope("alpha"), { sandbox: { mounts: [{ source: "plugins/real", target: "/mnt/x" }] } }, operatorCtx);
    w.core.close();
  });

  test("the checks themselves refuse every rule, whatever the overlay loader let through", () => {
    const w = sandboxWorld(MODES[0]!);
    const root = w.core.tenants.dir(scope("alpha"));
    legitDir(path.join(root, "plugins", "real"));
    fs.symlinkSync("real", path.join(root, "plugins", "lnk"));
    fs.symlinkSync("/", path.join(root, "plugins", "up"));
    fs.mkdirSync(path.join(w.workspace("alpha"), "d"));
    fs.symlinkSync("../plugins", path.join(w.workspace("alpha"), "lnk"));
    Bun.spawnSync(["mkfifo", path.join(root, "plugins", "fifo")]);
    const check = (source: string, target = "/mnt/x", readOnly?: boolean) => () => openMountSources(w.core.home, "alpha", [{ source, target, readOnly }]);
    expect(check("workspace/lnk")).toThrow("is in the workspace");
    expect(check("workspace/d")).toThrow("is in the workspace");
    expect(check("workspace")).toThrow("is in the workspace");
    expect(check("plugins/lnk")).toThrow("goes through a symbolic link");
    expect(check("plugins/lnk/legit.txt")).toThrow("goes through a symbolic link");
    expect(check("plugins/up/etc")).toThrow("goes through a symbolic link");
    expect(check("plugins/fifo")).toThrow("is not a regular file or directory");
    expect(check(".")).toThrow("names the tenant directory itself");
    expect(check("../beta/workspace")).toThrow('contains ".."');
    expect(check("/etc")).toThrow("is absolute");
    expect(check("plugins/real", "/mnt/x", false)).toThrow("must be read-only");
    expect(check("plugins/real", "/etc/x")).toThrow("must be a path under /mnt");
    expect(check("plugins/real", "/mnt/x; rm -rf /")).toThrow("must be a path under /mnt");
    expect(() => openMountSources(w.core.home, "alpha", [{ source: "plugins/real", target: "/mnt/x" }, { source: "plugins", target: "/mnt/x" }])).toThrow("used twice");
    const ok = openMountSources(w.core.home, "alpha", [{ source: "plugins/real", target: "/mnt/x" }]);
    expect(ok.opened.map((o) => ({ kind: o.kind, target: o.target, segments: o.segments }))).toEqual([{ kind: "dir", target: "/mnt/x", segments: ["plugins", "real"] }]);
    ok.opened.forEach((o) => fs.closeSync(o.fd));
    w.core.close();
  });

  test("a source replaced by a link after config.set, and an overlay edited on disk, are refused when the run starts", async () => {
    const w = sandboxWorld(MODES[0]!);
    const root = w.core.tenants.dir(scope("alpha"));
    legitDir(path.join(root, "plugins", "real"));
    legitDir(path.join(root, "plugins", "sub"));
    w.core.overlays.set(scope("alpha"), { sandbox: { mounts: [{ source: "plugins/sub", target: "/mnt/x" }] } }, operatorCtx);
    expect(await attempt(w, "/mnt/x")).toEqual({ kind: "legit" });
    // An operator's script, a restore, anything: the checked path now goes through a link.
    fs.renameSync(path.join(root, "plugins", "sub"), path.join(root, "plugins", "sub.old"));
    fs.symlinkSync("real", path.join(root, "plugins", "sub"));
    const viaLink = await attempt(w, "/mnt/x");
    expect(viaLink.kind).toBe("refused");
    expect(viaLink).toMatchObject({ detail: expect.stringContaining("symbolic link") });
    fs.unlinkSync(path.join(root, "plugins", "sub"));
    fs.symlinkSync(path.join(w.workspace("beta")), path.join(root, "plugins", "sub"));
    expect((await attempt(w, "/mnt/x")).kind).toBe("refused");
    // The review's source, written straight into the overlay file.
    fs.symlinkSync("../plugins/real", path.join(w.workspace("alpha"), "lnk"));
    writeOverlay(w, "alpha", { sandbox: { mounts: [{ source: "workspace/lnk", target: "/mnt/x" }] } });
    await Bun.sleep(300); // the overlay cache looks at the file again after 250 ms
    const edited = await attempt(w, "/mnt/x");
    expect(edited.kind).toBe("refused");
    expect(edited).toMatchObject({ detail: expect.stringContaining("workspace") });
    w.core.close();
  }, 30_000);
});

describe("the mount race of the review: none of the runs ever sees outside content", () => {
  for (const [kind, m] of (["suite", "overlay"] as const).flatMap((k) => MODES.map((m) => [k, m] as const))) {
    test(`${kind} home, ${m.label}: a workspace link re-pointed by the tenant, and a source swapped for a link on the host`, async () => {
      const w = sandboxWorld(m, { sandbox: { maxConcurrentPerTenant: 4 } }, homeOn(kind));
      const root = w.core.tenants.dir(scope("alpha"));
      const beta = w.workspace("beta");
      fs.writeFileSync(path.join(beta, "secret.txt"), "beta's secret");
      const owner = sandboxOwner();
      legitDir(path.join(root, "plugins", "sub"));
      legitDir(path.join(w.workspace("alpha"), "d"), owner);
      fs.chownSync(w.workspace("alpha"), owner.uid, owner.gid);
      // A. The review: `workspace/lnk` passed config.set while it led to plugins/; a second run of the
      // tenant then points it at a directory in the workspace and swaps that for links to `/` and to
      // beta's workspace (as seen from the host), over and over.
      fs.symlinkSync("../plugins/sub", path.join(w.workspace("alpha"), "lnk"));
      fs.lchownSync(path.join(w.workspace("alpha"), "lnk"), owner.uid, owner.gid);
      placeInWorkspace(w, "alpha", compileSwapper(), "swap");
      const overlayA = { sandbox: { mounts: [{ source: "workspace/lnk", target: "/mnt/x" }] } };
      try {
        w.core.overlays.set(scope("alpha"), overlayA, operatorCtx);
      } catch {
        writeOverlay(w, "alpha", overlayA); // refused now: as if someone edited the file
      }
      const stopSwap = new AbortController();
      const swapper = w.core.sandbox
        .run({ tenant: scope("alpha"), command: ["/bin/sh", "-c", "rm -f /work/lnk; ln -s d /work/lnk; exec /work/swap /work d / ../../beta/workspace"], signal: stopSwap.signal, timeoutSeconds: 50, origin: "rpc" })
        .catch(() => null);
      await Bun.sleep(m.mode === "docker" ? 1500 : 300);
      const a = await runMany(RUNS[m.label]!.a, 2, () => attempt(w, "/mnt/x"));
      stopSwap.abort();
      await swapper;
      // B. A source outside the workspace, which no tenant can change: a writer that could would
      // still never get a link bound, only the directory that was checked.
      writeOverlay(w, "alpha", {});
      w.core.overlays.set(scope("alpha"), { sandbox: { mounts: [{ source: "plugins/sub", target: "/mnt/x" }] } }, operatorCtx);
      // One run before the swapping starts: the overlay's verdict is then cached as valid (until its
      // file changes), so every run below reaches the run-time check, whatever the swapper's timing —
      // a verdict first taken while the name is a link would refuse them all at the overlay instead.
      expect(await attempt(w, "/mnt/x")).toEqual({ kind: "legit" });
      const swap = hostSwapper(path.join(root, "plugins"), "sub", ["/", beta]);
      const b = await runMany(RUNS[m.label]!.b, 2, () => attempt(w, "/mnt/x"));
      await swap.stop();
      const why = [...new Set([...a, ...b].map((v) => (v.kind === "refused" ? v.detail.replace(/"[^"]*"/g, '"…"') : v.kind)))];
      console.log(`${m.label} mount race: review's workspace link ${JSON.stringify(summary(a))}; host-side swap ${JSON.stringify(summary(b))}; outcomes: ${why.join(" | ")}`);
      expect([...a, ...b].filter((v) => v.kind === "LEAK")).toEqual([]);
      // And no run got a mount it could not read (that would be a broken feature, not a leak).
      expect([...a, ...b].filter((v) => v.kind === "unreadable")).toEqual([]);
      // Afterwards the mount works as before.
      expect(await attempt(w, "/mnt/x")).toEqual({ kind: "legit" });
      w.core.close();
    }, 180_000);
  }
});
