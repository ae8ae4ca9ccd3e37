// Measuring a tenant's directory: allocated blocks (sparse files count what they hold), names (hard
// links once for bytes, per name for entries), links never followed, caps that stop the walk early,
// a depth cap, other filesystems not descended, directories a sandbox made unreadable read again;
// and what the host's filesystem offers (project quotas detected from mountinfo).
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describeFilesystem, mountOf } from "../../../src/modules/disk/disk-fs.ts";
import { measureTree } from "../../../src/modules/disk/disk-usage.ts";

const BIG = { maxBytes: Number.MAX_SAFE_INTEGER, maxEntries: Number.MAX_SAFE_INTEGER };
const dirs: string[] = [];
const mounts: string[] = [];

function tree(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "disk-usage-"));
  dirs.push(d);
  return d;
}

afterAll(() => {
  for (const m of mounts) Bun.spawnSync(["umount", "-l", m]);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe("measureTree", () => {
  test("counts allocated blocks, not apparent sizes: a written file in full, a sparse one by what it holds", () => {
    const d = tree();
    fs.writeFileSync(path.join(d, "full.bin"), Buffer.alloc(1024 * 1024, 1));
    fs.closeSync(fs.openSync(path.join(d, "sparse.bin"), "w"));
    fs.truncateSync(path.join(d, "sparse.bin"), 1024 ** 3);
    const u = measureTree(d, BIG);
    expect(u.stoppedBy).toBeNull();
    expect(u.entries).toBe(2);
    expect(u.bytes).toBeGreaterThanOrEqual(1024 * 1024);
    expect(u.bytes).toBeLessThan(2 * 1024 * 1024);
  });

  test("a file preallocated on the host counts in full although it reads as empty", () => {
    const d = tree();
    const r = Bun.spawnSync(["fallocate", "-l", "8M", path.join(d, "pre.bin")]);
    expect(r.exitCode).toBe(0);
    expect(measureTree(d, BIG).bytes).toBeGreaterThanOrEqual(8 * 1024 * 1024);
  });

  test("hard links: the blocks once, every name as an entry", () => {
    const d = tree();
    fs.writeFileSync(path.join(d, "a"), Buffer.alloc(256 * 1024, 1));
    for (let i = 0; i < 5; i++) fs.linkSync(path.join(d, "a"), path.join(d, `link${i}`));
    const u = measureTree(d, BIG);
    expect(u.entries).toBe(6);
    expect(u.bytes).toBeLessThan(2 * 256 * 1024);
  });

  test("symbolic links are counted as names and never followed, even to a large tree", () => {
    const d = tree();
    const outside = tree();
    fs.writeFileSync(path.join(outside, "big"), Buffer.alloc(4 * 1024 * 1024, 1));
    fs.symlinkSync(outside, path.join(d, "elsewhere"));
    fs.symlinkSync("/", path.join(d, "root"));
    const u = measureTree(d, BIG);
    expect(u.entries).toBe(2);
    expect(u.bytes).toBeLessThan(64 * 1024);
  });

  test("stops as soon as a cap is passed: the walk costs no more than the limit it enforces", () => {
    const d = tree();
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(d, `f${i}`), "x");
    expect(measureTree(d, { maxBytes: Number.MAX_SAFE_INTEGER, maxEntries: 10 })).toMatchObject({ stoppedBy: "entries", entries: 11 });
    const byBytes = measureTree(d, { maxBytes: 16 * 1024, maxEntries: 1000 });
    expect(byBytes.stoppedBy).toBe("bytes");
    expect(byBytes.entries).toBeLessThan(50);
  });

  test("a tree deeper than the depth cap stops the walk and says where", () => {
    const d = tree();
    let p = d;
    for (let i = 0; i < 12; i++) fs.mkdirSync((p = path.join(p, "d")));
    const u = measureTree(d, { ...BIG, maxDepth: 10 });
    expect(u.stoppedBy).toBe("depth");
    expect(u.detail).toBe(Array(11).fill("d").join("/"));
    expect(measureTree(d, BIG).stoppedBy).toBeNull();
  });

  test("a filesystem mounted inside the tree is not descended", () => {
    const d = tree();
    fs.mkdirSync(path.join(d, "mnt"));
    const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", path.join(d, "mnt")], { stderr: "pipe" });
    expect({ mount: r.exitCode, stderr: r.stderr.toString() }).toEqual({ mount: 0, stderr: "" });
    mounts.push(path.join(d, "mnt"));
    fs.writeFileSync(path.join(d, "mnt", "big"), Buffer.alloc(4 * 1024 * 1024, 1));
    const u = measureTree(d, BIG);
    expect(u.entries).toBe(1);
    expect(u.bytes).toBeLessThan(64 * 1024);
  });

  test("a missing directory measures as empty", () => {
    expect(measureTree(path.join(tree(), "nope"), BIG)).toMatchObject({ bytes: 0, entries: 0, stoppedBy: null });
  });

  test("as a non-root gateway: a directory the sandbox made unreadable (chmod 000) is made readable again and counted", () => {
    // The sandbox runs as the gateway's own uid when the gateway is not root; it could hide a tree
    // from the walk by taking its permissions away. Run the walk as such a uid (65534).
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "disk-nonroot-"));
    dirs.push(base);
    fs.chmodSync(base, 0o755);
    const d = path.join(base, "tenant");
    fs.mkdirSync(path.join(d, "hidden", "deeper"), { recursive: true });
    fs.writeFileSync(path.join(d, "hidden", "deeper", "data"), Buffer.alloc(2 * 1024 * 1024, 1));
    fs.mkdirSync(path.join(d, "noexec"));
    fs.writeFileSync(path.join(d, "noexec", "f"), Buffer.alloc(1024 * 1024, 1));
    Bun.spawnSync(["chown", "-R", "65534:65534", d]);
    fs.chmodSync(path.join(d, "hidden", "deeper"), 0o000);
    fs.chmodSync(path.join(d, "hidden"), 0o000);
    fs.chmodSync(path.join(d, "noexec"), 0o600); // readable, not searchable
    const script = path.join(base, "walk.ts");
    fs.writeFileSync(script, `import { measureTree } from ${JSON.stringify(path.join(import.meta.dir, "../../../src/modules/disk/disk-usage.ts"))};\nconsole.log(JSON.stringify(measureTree(${JSON.stringify(d)}, { maxBytes: 1e15, maxEntries: 1e9 })));\n`);
    fs.chmodSync(script, 0o644);
    const r = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, script], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: base, BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0", BUN_INSTALL_CACHE_DIR: base },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(r.stderr.toString()).toBe("");
    const u = JSON.parse(r.stdout.toString());
    expect({ stoppedBy: u.stoppedBy, detail: u.detail }).toEqual({ stoppedBy: null, detail: null });
    expect(u.entries).toBe(5);
    expect(u.bytes).toBeGreaterThanOrEqual(3 * 1024 * 1024);
  });
});

describe("the filesystem report", () => {
  test("names the mount holding a path, its type and whether project quotas are on", () => {
    const d = tree();
    const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=8m", "oc-disk-test", d]);
    expect(r.exitCode).toBe(0);
    mounts.push(d);
    const m = mountOf(path.join(d));
    expect(m).toMatchObject({ mountPoint: fs.realpathSync(d), fsType: "tmpfs", source: "oc-disk-test" });
    expect(describeFilesystem(d).projectQuota.mounted).toBe(false);
  });

  test("project quotas are recognised from the mount's super options (ext4 prjquota, XFS pquota)", () => {
    // This host's kernel has no quota support to mount with; the detection reads mountinfo, so it is
    // checked against lines as ext4 and XFS write them.
    const d = tree();
    const dev = fs.statSync(d, { bigint: true }).dev;
    const majmin = `${((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)}:${(dev & 0xffn) | ((dev >> 12n) & ~0xffn)}`;
    const line = (opts: string, type: string) => `1 0 ${majmin} / / rw,relatime shared:1 - ${type} /dev/sdz1 ${opts}\n`;
    expect(describeFilesystem(d, line("rw,prjquota", "ext4")).projectQuota).toMatchObject({ mounted: true });
    expect(describeFilesystem(d, line("rw,attr2,inode64,logbufs=8,prjquota", "xfs")).projectQuota.detail).toContain("/dev/sdz1 (xfs) at / is mounted with prjquota");
    expect(describeFilesystem(d, line("rw,pquota", "xfs")).projectQuota.mounted).toBe(true);
    expect(describeFilesystem(d, line("rw,resuid=0", "ext4")).projectQuota).toMatchObject({ mounted: false });
    // A mount on another device, or one that does not hold the path, is not the one.
    expect(mountOf(d, `1 0 999:999 / / rw - ext4 /dev/other rw,prjquota\n`)).toBeNull();
  });
});
