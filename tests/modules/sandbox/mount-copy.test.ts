// The copy a root gateway binds where the home's file system has no id-mapped mounts
// (src/modules/sandbox/mount-copy.ts), on its own: it holds what was checked and nothing a link
// points at, shows owners as an id-mapped mount would, is read-only, is bounded, and a tree changing
// while it is copied never brings in outside content. Runs on whatever file system the suite is on
// (the copy does not depend on it).
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { moveMount, umountDetach } from "../../../src/lib/mount-api.ts";
import { copyToTmpfs, newCopyBudget, type CopyBudget } from "../../../src/modules/sandbox/mount-copy.ts";
import { openMountSources } from "../../../src/modules/sandbox/mounts.ts";
import { createTenant, makeHome, testCore, scope } from "../../helpers/core.ts";
import { homeOn, unmountHomes } from "./mount-fs.ts";
import { hostSwapper } from "./mount-race.ts";

const OWNER = { uid: 65534, gid: 65534 };
const attached: string[] = [];

afterEach(() => {
  for (const p of attached.splice(0)) umountDetach(p);
});
afterAll(unmountHomes);

function tenantRoot(home = makeHome()): string {
  const core = testCore({ home });
  createTenant(core, "alpha");
  const root = core.tenants.dir(scope("alpha"));
  core.close();
  return root;
}

/** Copies `source` (relative to the tenant root) and attaches the copy at a new directory; returns it. */
async function copyOf(root: string, source: string, budget: CopyBudget = newCopyBudget()): Promise<string> {
  const home = path.dirname(path.dirname(root));
  const { opened } = openMountSources(home, "alpha", [{ source, target: "/mnt/x" }]);
  const o = opened[0]!;
  try {
    const copy = await copyToTmpfs({ fd: o.fd, kind: o.kind, label: source, owner: OWNER, budget });
    const at = fs.mkdtempSync(path.join(home, "attached-"));
    try {
      moveMount(copy.mountFd, at);
    } finally {
      fs.closeSync(copy.mountFd);
    }
    attached.push(at);
    return copy.inner === null ? at : path.join(at, copy.inner);
  } finally {
    fs.closeSync(o.fd);
  }
}

const mountLine = (p: string) => fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.split(" ")[4] === p) ?? "";

describe("a copied mount", () => {
  test("holds what was checked, owners as an id-mapped mount shows them; links stay links; FIFOs, nested mounts and setuid are left out", async () => {
    const root = tenantRoot();
    const src = path.join(root, "plugins", "src");
    fs.mkdirSync(path.join(src, "sub"), { recursive: true });
    fs.chmodSync(src, 0o750);
    fs.writeFileSync(path.join(src, "a.txt"), "a", { mode: 0o600 });
    fs.writeFileSync(path.join(src, "theirs.txt"), "t");
    fs.chmodSync(path.join(src, "theirs.txt"), 0o640); // explicit: the suite's umask is 077
    fs.chmodSync(path.join(src, "sub"), 0o755);
    fs.chownSync(path.join(src, "theirs.txt"), 1234, 1235);
    fs.writeFileSync(path.join(src, "sub", "b.txt"), "b", { mode: 0o644 });
    fs.writeFileSync(path.join(src, "suid"), "#!/bin/sh\n", { mode: 0o755 });
    fs.chmodSync(path.join(src, "suid"), 0o4755);
    fs.symlinkSync("/etc/shadow", path.join(src, "abs-link"));
    fs.symlinkSync("../../workspace", path.join(src, "rel-link"));
    expect(Bun.spawnSync(["mkfifo", path.join(src, "fifo")]).exitCode).toBe(0);
    fs.mkdirSync(path.join(src, "nested"));
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "nested", path.join(src, "nested")]).exitCode).toBe(0);
    fs.writeFileSync(path.join(src, "nested", "hidden.txt"), "from another mount");
    try {
      const at = await copyOf(root, "plugins/src");
      expect(fs.readdirSync(at).sort()).toEqual(["a.txt", "abs-link", "rel-link", "sub", "suid", "theirs.txt"]);
      const st = (p: string) => fs.lstatSync(path.join(at, p));
      const own = (p: string) => ({ uid: st(p).uid, gid: st(p).gid, mode: (st(p).mode & 0o7777).toString(8) });
      expect(own(".")).toEqual({ uid: 65534, gid: 65534, mode: "750" });
      expect(own("a.txt")).toEqual({ uid: 65534, gid: 65534, mode: "600" });
      expect(own("theirs.txt")).toEqual({ uid: 1234, gid: 1235, mode: "640" });
      expect(own("sub")).toEqual({ uid: 65534, gid: 65534, mode: "755" });
      expect(own("suid").mode).toBe("755");
      expect(fs.readFileSync(path.join(at, "sub", "b.txt"), "utf8")).toBe("b");
      // The links' text, never what they point at.
      expect(st("abs-link").isSymbolicLink()).toBe(true);
      expect(fs.readlinkSync(path.join(at, "abs-link"))).toBe("/etc/shadow");
      expect(fs.readlinkSync(path.join(at, "rel-link"))).toBe("../../workspace");
      // Read-only (the file system itself), nosuid, nodev, a tmpfs.
      expect(() => fs.writeFileSync(path.join(at, "new"), "x")).toThrow(/EROFS|read-only/);
      expect(() => fs.chmodSync(path.join(at, "a.txt"), 0o666)).toThrow(/EROFS|read-only/);
      const line = mountLine(at);
      expect(line.split(" ")[5]).toMatch(/^ro,nosuid,nodev/);
      expect(line.split(" - ")[1]).toMatch(/^tmpfs \S+ ro,/);
    } finally {
      umountDetach(path.join(src, "nested"));
    }
  });

  test("a file source: only that file, with its content and mapped owner", async () => {
    const root = tenantRoot();
    fs.mkdirSync(path.join(root, "plugins"), { recursive: true });
    fs.writeFileSync(path.join(root, "plugins", "one.txt"), "one\n", { mode: 0o600 });
    const file = await copyOf(root, "plugins/one.txt");
    expect(fs.readdirSync(path.dirname(file))).toEqual([path.basename(file)]);
    expect(fs.readFileSync(file, "utf8")).toBe("one\n");
    expect(fs.statSync(file).uid).toBe(65534);
  });

  test("a run copies at most its allowance; over it the run is refused, naming the mount", async () => {
    const root = tenantRoot();
    const src = path.join(root, "plugins", "big");
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, "blob"), Buffer.alloc(64 * 1024));
    const small = copyOf(root, "plugins/big", { bytes: 16 * 1024, entries: 100 });
    await expect(small).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await expect(small).rejects.toThrow(/sandbox mount "plugins\/big": .*no id-mapped mounts.*would exceed/);
    for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(src, `f${i}`), "x");
    await expect(copyOf(root, "plugins/big", { bytes: 1 << 30, entries: 3 })).rejects.toThrow(/would exceed/);
    // Within the allowance it copies, and takes its share of it.
    const budget = { bytes: 1 << 20, entries: 100 };
    await copyOf(root, "plugins/big", budget);
    expect(budget).toEqual({ bytes: (1 << 20) - 64 * 1024 - 5 * 4096, entries: 94 });
  });

  test("a tree swapped for links while it is copied never brings in what a link points at", async () => {
    // On an overlay home too: the file system the copy exists for.
    for (const home of [makeHome(), homeOn("overlay")]) {
      const root = tenantRoot(home);
      const src = path.join(root, "plugins", "src");
      fs.mkdirSync(path.join(src, "sub"), { recursive: true });
      fs.writeFileSync(path.join(src, "sub", "legit.txt"), "legit");
      const outside = path.join(home, "outside");
      fs.mkdirSync(outside);
      fs.writeFileSync(path.join(outside, "secret.txt"), "secret");
      const swap = hostSwapper(src, "sub", ["/", outside]);
      const seen = new Set<string>();
      const subWas = new Set<string>();
      try {
        for (let i = 0; i < 150; i++) {
          const at = await copyOf(root, "plugins/src");
          // Walk the copy without following links: every regular file must be the legitimate one.
          const walk = (d: string): void => {
            for (const n of fs.readdirSync(d)) {
              const p = path.join(d, n);
              const s = fs.lstatSync(p);
              if (s.isDirectory()) walk(p);
              else if (s.isFile()) seen.add(`${n}=${fs.readFileSync(p, "utf8")}`);
              else seen.add(s.isSymbolicLink() ? "link" : "other");
            }
          };
          walk(at);
          const sub = fs.lstatSync(path.join(at, "sub"), { throwIfNoEntry: false });
          subWas.add(sub?.isDirectory() ? "dir" : sub?.isSymbolicLink() ? "link" : "absent");
          umountDetach(attached.pop()!);
        }
      } finally {
        await swap.stop();
      }
      expect([...seen].filter((s) => s !== "legit.txt=legit" && s !== "link")).toEqual([]);
      expect(seen.has("legit.txt=legit")).toBe(true);
      // The race did happen: some copies caught the name as the directory, some as a link.
      expect([...subWas].sort()).toEqual(expect.arrayContaining(["dir", "link"]));
    }
  }, 60_000);
});
