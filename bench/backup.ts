// Backup and restore throughput for a 1 GB tenant beside `tar --zstd` of the same directory, in the
// same run, with peak memory.
//
// The tenant: 1 GiB in total — 4 large files (a mix of random and text-like data, so zstd has work to
// do) and 2,000 small ones. Each round, alternating:
//   ours backup   `openclaw tenants backup <id> --to FILE` (the compiled binary; own process, so its
//                 peak RSS is measured alone, from /proc/<pid>/status VmHWM)
//   tar backup    `tar --zstd -cf FILE -C <tenant dir> .` (zstd at its default level 3, like ours)
//   ours restore  `openclaw tenants restore --from FILE --as <new id>`
//   tar restore   `tar --zstd -xf FILE -C <empty dir>`
// Before each step, `sync` (outside the timing): no step pays for the writeback of the one before.
// Throughput = tenant bytes / wall time. Medians over the rounds.
//
//   bun bench/backup.ts --rounds 3 --gib 1
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { arg, ensureBinary, median, saveResult, tmpdir } from "./lib.ts";

const ROUNDS = arg("--rounds", 3);
const GIB = arg("--gib", 1);
const TOTAL = Math.round(GIB * 1024 ** 3);

const bin = ensureBinary();
const home = tmpdir("bench-backup-");
const env = { ...process.env, OPENCLAW_HOME: home } as Record<string, string>;
const run = (args: string[]) => {
  const r = Bun.spawnSync([bin, ...args], { env, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openclaw ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
};
run(["tenants", "create", "bench"]);
const tenantDir = path.join(home, "tenants", "bench");

// Build the tenant's data: 2,000 small files, then 4 large ones filling up to TOTAL.
const ws = path.join(tenantDir, "workspace");
let written = 0;
for (let i = 0; i < 2000; i++) {
  const d = path.join(ws, `dir${i % 50}`);
  fs.mkdirSync(d, { recursive: true });
  const text = `line ${i} of some tenant's notes: ${crypto.randomBytes(8).toString("hex")}\n`.repeat(40);
  fs.writeFileSync(path.join(d, `note${i}.txt`), text);
  written += text.length;
}
const per = Math.floor((TOTAL - written) / 4);
for (let f = 0; f < 4; f++) {
  const fd = fs.openSync(path.join(ws, `big${f}.bin`), "w");
  const chunk = 8 * 1024 * 1024;
  for (let off = 0; off < per; off += chunk) {
    const n = Math.min(chunk, per - off);
    // Half random (incompressible), half repetitive text (compressible): zstd works on both.
    const buf = f % 2 === 0 ? crypto.randomBytes(n) : Buffer.from(`record ${off} ${"abcdefghij".repeat(20)}\n`.repeat(Math.ceil(n / 220))).subarray(0, n);
    fs.writeSync(fd, buf);
  }
  fs.closeSync(fd);
  written += per;
}
const tenantBytes = written;
console.log(`tenant: ${(tenantBytes / 1024 ** 3).toFixed(2)} GiB in 2,004 files`);

/** Runs a command, sampling its peak RSS (VmHWM) just before it exits. */
async function timed(argv: string[], extraEnv: Record<string, string> = {}): Promise<{ ms: number; peakMb: number }> {
  // Each step starts with nothing dirty in the page cache, so the writeback of the previous step's
  // output (a restored gigabyte, an archive) does not land in this step's time.
  Bun.spawnSync(["sync"]);
  const t = performance.now();
  const p = Bun.spawn(argv, { env: { ...env, ...extraEnv }, stdout: "ignore", stderr: "pipe" });
  let peak = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p.pid}/status`, "utf8"));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch {
      // exited
    }
  }, 20);
  const code = await p.exited;
  clearInterval(poll);
  if (code !== 0) throw new Error(`${argv.join(" ")} failed: ${await new Response(p.stderr).text()}`);
  return { ms: performance.now() - t, peakMb: peak };
}

const out = tmpdir("bench-backup-out-");
const samples = { oursBackup: [] as number[], tarBackup: [] as number[], oursRestore: [] as number[], tarRestore: [] as number[], oursBackupRss: [] as number[], oursRestoreRss: [] as number[], oursSize: 0, tarSize: 0 };
for (let r = 0; r < ROUNDS; r++) {
  const ourFile = path.join(out, `ours-${r}.tar.zst`);
  const tarFile = path.join(out, `tar-${r}.tar.zst`);
  const ob = await timed([bin, "tenants", "backup", "bench", "--to", ourFile]);
  const tb = await timed(["tar", "--zstd", "-cf", tarFile, "-C", tenantDir, "."]);
  const or = await timed([bin, "tenants", "restore", "--from", ourFile, "--as", `restored-${r}`]);
  const into = fs.mkdtempSync(path.join(out, "tar-x-"));
  const tr = await timed(["tar", "--zstd", "-xf", tarFile, "-C", into]);
  samples.oursBackup.push(tenantBytes / (ob.ms / 1000));
  samples.tarBackup.push(tenantBytes / (tb.ms / 1000));
  samples.oursRestore.push(tenantBytes / (or.ms / 1000));
  samples.tarRestore.push(tenantBytes / (tr.ms / 1000));
  samples.oursBackupRss.push(ob.peakMb);
  samples.oursRestoreRss.push(or.peakMb);
  samples.oursSize = fs.statSync(ourFile).size;
  samples.tarSize = fs.statSync(tarFile).size;
  console.log(`round ${r + 1}: backup ours ${(ob.ms / 1000).toFixed(2)}s (peak ${ob.peakMb.toFixed(0)} MB) · tar ${(tb.ms / 1000).toFixed(2)}s | restore ours ${(or.ms / 1000).toFixed(2)}s (peak ${or.peakMb.toFixed(0)} MB) · tar ${(tr.ms / 1000).toFixed(2)}s`);
  for (const f of [ourFile, tarFile]) fs.rmSync(f, { force: true });
  fs.rmSync(into, { recursive: true, force: true });
  fs.rmSync(path.join(home, "tenants", `restored-${r}`), { recursive: true, force: true });
}
const mbps = (xs: number[]) => +(median(xs) / 1e6).toFixed(1);
const result = {
  date: new Date().toISOString(),
  machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model}`,
  command: `bun bench/backup.ts --rounds ${ROUNDS} --gib ${GIB}`,
  tenantBytes,
  backup: { oursMBps: mbps(samples.oursBackup), tarZstdMBps: mbps(samples.tarBackup), ratio: +(median(samples.oursBackup) / median(samples.tarBackup)).toFixed(2), oursPeakRssMb: Math.round(Math.max(...samples.oursBackupRss)) },
  restore: { oursMBps: mbps(samples.oursRestore), tarZstdMBps: mbps(samples.tarRestore), ratio: +(median(samples.oursRestore) / median(samples.tarRestore)).toFixed(2), oursPeakRssMb: Math.round(Math.max(...samples.oursRestoreRss)) },
  archiveBytes: { ours: samples.oursSize, tarZstd: samples.tarSize },
};
console.log(result);
saveResult("backup", result);
fs.rmSync(home, { recursive: true, force: true });
fs.rmSync(out, { recursive: true, force: true });
