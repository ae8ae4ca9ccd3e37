// Gateway homes on a chosen file system, for the overlay-mount tests: the suite's own (whatever this
// machine has: ext4 on a VM, overlayfs in a container), a tmpfs, and an overlayfs (a gateway whose
// home is inside a container's root). Real mounts, made by root; unmountHomes() removes them.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export type HomeFs = "suite" | "tmpfs" | "overlay";
export const HOME_FILESYSTEMS: HomeFs[] = ["suite", "tmpfs", "overlay"];

const roots = new Map<HomeFs, string>();
const mounts: string[] = [];

function sh(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString().trim()}`);
}

function mountTmpfs(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  // Sized generously: tmpfs takes memory only for what is written, and the gateway keeps a 1 GiB disk reserve.
  sh(["mount", "-t", "tmpfs", "-o", "mode=0711,size=8g", "openclaw-test", dir]);
  mounts.push(dir);
}

function rootFor(kind: HomeFs): string {
  const base = process.env.OPENCLAW_TEST_ROOT ?? os.tmpdir();
  if (kind === "suite") return base;
  const known = roots.get(kind);
  if (known) return known;
  const dir = fs.mkdtempSync(path.join(base, `fs-${kind}-`));
  fs.chmodSync(dir, 0o711);
  let root: string;
  if (kind === "tmpfs") {
    root = path.join(dir, "mnt");
    mountTmpfs(root);
  } else {
    // upper and work on a tmpfs: an overlay's upper layer may not itself be on overlayfs (as in a container).
    mountTmpfs(path.join(dir, "layers"));
    for (const d of ["lower", "layers/upper", "layers/work", "mnt"]) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o711 });
    root = path.join(dir, "mnt");
    sh(["mount", "-t", "overlay", "overlay", "-o", `lowerdir=${dir}/lower,upperdir=${dir}/layers/upper,workdir=${dir}/layers/work`, root]);
    mounts.push(root);
    fs.chmodSync(root, 0o711);
  }
  roots.set(kind, root);
  return root;
}

/** A new, empty gateway home on `kind`. */
export function homeOn(kind: HomeFs): string {
  return fs.mkdtempSync(path.join(rootFor(kind), "home-"));
}

/** Unmounts what homeOn mounted (lazily: a run's copy of a mount goes when the run does). */
export function unmountHomes(): void {
  for (const m of mounts.splice(0).reverse()) Bun.spawnSync(["umount", "-l", m]);
  roots.clear();
}
