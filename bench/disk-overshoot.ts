// How far past its limit a sandbox run gets before the disk watchdog kills it (red team 11 #9): a
// static C program in a bwrap sandbox creates files as fast as it can (inodes: empty files; bytes:
// 1 MiB files written with write(2)) until it is killed. After each run the tenant's directory is
// counted (names, allocated bytes) and the overshoot is what it holds past the limit. Reports the
// median and the worst over the runs. The red team measured the watchdog before this change with a
// Python loop: 26,548 files against a 5,000 limit (5.3×).
//
//   bun bench/disk-overshoot.ts --runs 7 --inodes 5000 --disk-mb 64
import fs from "node:fs";
import path from "node:path";
import { createCore } from "../src/app/core.ts";
import { silentLogger } from "../src/core/logger.ts";
import { readEnvironment } from "../src/config/env.ts";
import { mintTenantScope } from "../src/edge/tenant-scope.ts";
import { arg, median, saveResult, tmpdir } from "./lib.ts";

const RUNS = arg("--runs", 7);
const INODES = arg("--inodes", 5000);
const DISK_MB = arg("--disk-mb", 64);

const FLOOD_C = `#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static char buf[1 << 20];
int main(int argc, char **argv) {
  int bytes = argv[1][0] == 'b';
  char name[64];
  memset(buf, 'x', sizeof buf);
  for (long i = 0;; i++) {
    snprintf(name, sizeof name, "/work/f%ld", i);
    int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return 3;
    if (bytes && write(fd, buf, sizeof buf) != sizeof buf) return 4;
    close(fd);
  }
}
`;

const home = tmpdir("bench-disk-");
fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify({ sandbox: { mode: "bwrap", limits: { diskMb: DISK_MB, inodes: INODES, timeoutSeconds: 60 } } }));
const core = createCore({ home, env: readEnvironment({ PATH: process.env.PATH }), log: silentLogger() });
core.tenants.create({ id: "flood" }, { actor: { kind: "operator", id: "bench" }, requestId: "bench" });
const scope = mintTenantScope("flood");
const ws = path.join(core.tenants.dir(scope), "workspace");
const bin = path.join(ws, "flood");
const src = path.join(home, "flood.c");
fs.writeFileSync(src, FLOOD_C);
const cc = Bun.spawnSync(["gcc", "-static", "-O2", "-o", bin, src], { stderr: "pipe" });
if (cc.exitCode !== 0) throw new Error(cc.stderr.toString());
const binBytes = fs.statSync(bin).blocks * 512;

function du(dir: string): { names: number; bytes: number } {
  let names = 0;
  let bytes = 0;
  for (const n of fs.readdirSync(dir)) {
    const st = fs.lstatSync(path.join(dir, n));
    names++;
    bytes += st.blocks * 512;
  }
  return { names, bytes };
}

const results: Record<string, { overshoot: number[]; ms: number[]; killed: string[] }> = { inodes: { overshoot: [], ms: [], killed: [] }, bytes: { overshoot: [], ms: [], killed: [] } };
for (let i = 0; i < RUNS; i++) {
  for (const kind of ["inodes", "bytes"] as const) {
    for (const n of fs.readdirSync(ws)) if (n !== "flood") fs.rmSync(path.join(ws, n), { force: true });
    core.disk.invalidate(scope);
    const r = await core.sandbox.run({ tenant: scope, command: ["/work/flood", kind === "bytes" ? "b" : "i"], origin: "rpc" });
    const u = du(ws);
    // The tenant's directory holds its subdirectories too (a handful of names and blocks).
    const over = kind === "inodes" ? u.names - INODES : (u.bytes - binBytes) / (1024 * 1024) - DISK_MB;
    results[kind]!.overshoot.push(Math.round(over * 10) / 10);
    results[kind]!.ms.push(r.durationMs);
    results[kind]!.killed.push(String(r.killedReason));
  }
}
core.close();
fs.rmSync(home, { recursive: true, force: true });

const summary = Object.fromEntries(
  Object.entries(results).map(([k, v]) => [k, { unit: k === "inodes" ? "files" : "MiB", limit: k === "inodes" ? INODES : DISK_MB, medianOvershoot: median(v.overshoot), worstOvershoot: Math.max(...v.overshoot), medianRunMs: median(v.ms), overshoots: v.overshoot, killed: v.killed }]),
);
console.log(JSON.stringify(summary, null, 2));
saveResult("disk-overshoot", { runs: RUNS, inodes: INODES, diskMb: DISK_MB, summary });
