// Shared by the mount tests: a tenant layout with one legitimate mount source and content that must
// never show up under a mount (the host's root, the other tenant's workspace), the swappers that
// try to redirect a bind between the gateway's check and the mount, and the verdict on one run.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sandboxIdentity } from "../../../src/modules/sandbox/host.ts";

export const LEGIT = "legit.txt";
/** What `listing` prints when the mount is the checked directory. */
export const LEGIT_OUTPUT = `${LEGIT}\nlegit content\n`;
/** The command every run executes: list the mount and read the legitimate file. */
export const listing = (target: string) => ["/bin/sh", "-c", `ls ${target}; cat ${target}/${LEGIT}`];

/**
 * One run's outcome. `LEAK` is anything the checked directory could not have shown: a line of output
 * that is not the legitimate listing, or a listing cut short for any reason but a refused read.
 * `unreadable` (the run saw no outside content, but the mount could not be read: permission denied)
 * is a failure of the feature, not a leak; the tests refuse both.
 */
export type Verdict = { kind: "refused"; detail: string } | { kind: "legit" } | { kind: "unreadable"; detail: string } | { kind: "LEAK"; detail: string };

const LEGIT_LINES = new Set(LEGIT_OUTPUT.split("\n").filter(Boolean));

export function verdictOf(stdout: string | null, error: string | null, stderr = ""): Verdict {
  if (error !== null) return { kind: "refused", detail: error };
  if (stdout === LEGIT_OUTPUT) return { kind: "legit" };
  const out = stdout ?? "";
  const onlyLegit = out.split("\n").every((l) => l === "" || LEGIT_LINES.has(l));
  if (onlyLegit && /Permission denied/.test(stderr)) return { kind: "unreadable", detail: stderr.slice(0, 300) };
  return { kind: "LEAK", detail: `stdout: ${out.slice(0, 300)} stderr: ${stderr.slice(0, 200)}` };
}

/** Makes `dir` a directory holding only the legitimate file, readable by `owner`. */
export function legitDir(dir: string, owner?: { uid: number; gid: number }): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dir, LEGIT), "legit content\n", { mode: 0o600 });
  if (owner) {
    fs.chownSync(dir, owner.uid, owner.gid);
    fs.chownSync(path.join(dir, LEGIT), owner.uid, owner.gid);
  }
}

let swapBinary: string | null = null;

/** Compiles tests/modules/sandbox/swap.c statically (once): it runs on the host and in every sandbox. */
export function compileSwapper(): string {
  if (swapBinary) return swapBinary;
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-swap-")), "swap");
  const r = Bun.spawnSync(["gcc", "-static", "-O2", "-w", "-o", out, path.join(import.meta.dir, "swap.c")], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`cannot compile the swapper (gcc -static): ${r.stderr.toString()}`);
  fs.chmodSync(path.dirname(out), 0o755);
  fs.chmodSync(out, 0o755);
  return (swapBinary = out);
}

/**
 * A host process that swaps `<parent>/<name>` with links to each of `targets`, atomically and as
 * fast as it can, until stopped. It stands for any writer a mount source's path could have; the
 * gateway must never bind what a link points at.
 */
export function hostSwapper(parent: string, name: string, targets: string[]): { stop(): Promise<void> } {
  const p = Bun.spawn([compileSwapper(), parent, name, ...targets], { stdout: "ignore", stderr: "inherit" });
  return {
    async stop() {
      p.kill("SIGKILL");
      await p.exited;
      // Put the real directory back under its name, whatever state the loop was in.
      const at = path.join(parent, name);
      const swaps = fs.readdirSync(parent).filter((n) => n.startsWith(`.${name}.swap`)).map((n) => path.join(parent, n));
      if (fs.lstatSync(at).isSymbolicLink()) {
        const real = swaps.find((s) => fs.lstatSync(s).isDirectory())!;
        fs.unlinkSync(at);
        fs.renameSync(real, at);
      }
      for (const s of swaps) if (fs.lstatSync(s, { throwIfNoEntry: false })?.isSymbolicLink()) fs.unlinkSync(s);
    },
  };
}

/** Runs `one` n times, `width` at a time, and returns every verdict. */
export async function runMany(n: number, width: number, one: () => Promise<Verdict>): Promise<Verdict[]> {
  const out: Verdict[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) {
        next++;
        out.push(await one());
      }
    }),
  );
  return out;
}

export function summary(vs: Verdict[]): Record<string, number> {
  const s: Record<string, number> = { legit: 0, refused: 0, unreadable: 0, LEAK: 0 };
  for (const v of vs) s[v.kind]!++;
  return s;
}

export const sandboxOwner = () => {
  const id = sandboxIdentity();
  return { uid: id.uid, gid: id.gid };
};
