// Sandbox start-to-exit overhead and egress proxy throughput.
//
// Overhead: `true` run through the gateway's sandbox service (everything a sandbox.exec does: mode and
// limit resolution, the run's cgroup, the wrapper, bwrap or docker, the sandbox_runs row) beside a
// direct spawn of /bin/true, interleaved round by round in one process. Reports p50/p95 per mode and
// the overhead (mode p50 − direct p50).
//
// Egress: bytes per second of one large HTTP download from a local server, (a) direct, (b) through
// the per-run proxy on its Unix socket, (c) from inside a bwrap sandbox through the bridge and the
// proxy — medians over several runs.
//
//   bun bench/sandbox.ts --rounds 40 --egress-mb 256 --egress-runs 5
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createCore } from "../src/app/core.ts";
import { silentLogger } from "../src/core/logger.ts";
import { readEnvironment } from "../src/config/env.ts";
import { mintTenantScope } from "../src/edge/tenant-scope.ts";
import { buildAllowPrivate, parseEgressEntry } from "../src/lib/egress-rules.ts";
import { startEgressProxy } from "../src/modules/sandbox/egress/proxy.ts";
import { buildSandboxImage } from "../src/modules/sandbox/image.ts";
import { DEFAULT_IMAGE } from "../src/modules/sandbox/sandbox.types.ts";
import { arg, median, saveResult, tmpdir } from "./lib.ts";

const ROUNDS = arg("--rounds", 40);
const EGRESS_MB = arg("--egress-mb", 256);
const EGRESS_RUNS = arg("--egress-runs", 5);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const home = tmpdir("bench-sandbox-");
fs.writeFileSync(
  path.join(home, "openclaw.json"),
  JSON.stringify({
    sandbox: {
      mode: "bwrap",
      allowedModes: ["bwrap", "docker"],
      maxConcurrentPerTenant: 4,
      egress: { tools: { bench: ["localhost:*"] }, allowPrivate: ["127.0.0.1/32"] },
    },
  }),
);
// The gateway finds bwrap, docker and setpriv on the PATH it is started with.
const core = createCore({ home, env: readEnvironment({ PATH: process.env.PATH }), log: silentLogger() });
// The operator running this benchmark, acting for its one tenant.
const scope = mintTenantScope;
core.tenants.create({ id: "bench" }, { actor: { kind: "operator", id: "bench" }, requestId: "bench" });
if (Bun.spawnSync(["docker", "image", "inspect", DEFAULT_IMAGE], { stdout: "ignore", stderr: "ignore" }).exitCode !== 0) await buildSandboxImage({ tag: DEFAULT_IMAGE });

const modes = [
  { label: "bwrap", mode: "bwrap" as const },
  { label: "docker", mode: "docker" as const, runtime: "runc" },
  { label: "docker+runsc", mode: "docker" as const, runtime: "runsc" },
];

async function direct(): Promise<number> {
  const t = performance.now();
  const p = Bun.spawn(["/bin/true"], { stdout: "ignore", stderr: "ignore" });
  await p.exited;
  return performance.now() - t;
}

async function sandboxed(m: (typeof modes)[number]): Promise<number> {
  if (m.runtime) {
    const cfg = JSON.parse(fs.readFileSync(path.join(home, "openclaw.json"), "utf8"));
    if (cfg.sandbox.docker?.runtime !== m.runtime) {
      cfg.sandbox.docker = { runtime: m.runtime };
      fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify(cfg));
      core.reloadConfig();
    }
  }
  const t = performance.now();
  const r = await core.sandbox.run({ tenant: scope("bench"), command: ["/bin/true"], mode: m.mode, origin: "operator" });
  const ms = performance.now() - t;
  if (r.exitCode !== 0) throw new Error(`${m.label}: true exited ${r.exitCode}: ${r.stderr}`);
  return ms;
}

// Warm-up: the self-test, images in the page cache, docker's first container.
await core.sandbox.status({ docker: true });
for (const m of modes) await sandboxed(m);

const samples: Record<string, number[]> = { direct: [], ...Object.fromEntries(modes.map((m) => [m.label, []])) };
for (let round = 0; round < ROUNDS; round++) {
  samples.direct!.push(await direct());
  for (const m of modes) {
    // Docker modes are slow; sample them every fourth round, bwrap every round.
    if (m.mode === "docker" && round % 4 !== 0) continue;
    samples[m.label]!.push(await sandboxed(m));
  }
}
const directP50 = median(samples.direct!);
const overhead = Object.fromEntries(
  Object.entries(samples).map(([label, xs]) => [
    label,
    { n: xs.length, p50: +median(xs).toFixed(2), p95: +pct(xs, 95).toFixed(2), overheadP50: +(median(xs) - directP50).toFixed(2), overheadP95: +(pct(xs, 95) - pct(samples.direct!, 95)).toFixed(2) },
  ]),
);
console.log("start-to-exit of `true` (ms):");
for (const [label, o] of Object.entries(overhead)) console.log(`  ${label.padEnd(14)} n=${String(o.n).padStart(3)}  p50 ${o.p50.toFixed(2).padStart(8)}  p95 ${o.p95.toFixed(2).padStart(8)}  overhead p50 ${o.overheadP50.toFixed(2).padStart(8)}`);

// ---------------------------------------------------------------------------------------------
// Egress throughput.

const payload = Buffer.alloc(EGRESS_MB * 1024 * 1024, 97);
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(payload) });
const port = server.port!;

/** Raw bytes of one GET over a socket (TCP to the server, or the proxy's Unix socket), read and dropped. */
function rawGet(connect: () => net.Socket, request: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    let got = 0;
    const s = connect();
    s.on("data", (d) => (got += d.length));
    s.on("close", () => (got < payload.length ? reject(new Error(`short read ${got}`)) : resolve(payload.length / ((performance.now() - t) / 1000))));
    s.on("error", reject);
    s.write(request);
  });
}

const fetchDirect = () => rawGet(() => net.connect(port, "127.0.0.1"), "GET /big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");

async function fetchViaProxy(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-egress-"));
  const proxy = await startEgressProxy({ socketPath: path.join(dir, "p.sock"), rules: [parseEgressEntry(`localhost:${port}`)], allowPrivate: buildAllowPrivate(["127.0.0.1/32"]), onEvent: () => {} });
  try {
    return await rawGet(() => net.connect(proxy.socketPath), `GET http://localhost:${port}/big HTTP/1.1\r\n\r\n`);
  } finally {
    await proxy.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** busybox wget to /dev/null, timed by the shell around the download only. */
const WGET = (url: string) => `s=$(date +%s%N); busybox wget -q -O /dev/null ${url} || exit 9; e=$(date +%s%N); echo $((e - s))`;

async function wgetOnHost(): Promise<number> {
  const p = Bun.spawn(["/bin/sh", "-c", WGET(`http://127.0.0.1:${port}/big`)], { stdout: "pipe", env: { PATH: "/usr/bin:/bin" } });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error("host wget failed");
  return payload.length / (Number(out.trim()) / 1e9);
}

core.overlays.set(scope("bench"), { tools: { egress: { bench: [`localhost:${port}`] } } }, { actor: { kind: "operator", id: "bench" }, requestId: "bench" });
async function fetchInSandbox(): Promise<number> {
  // Time measured inside the sandbox around the download only (busybox wget to /dev/null).
  const r = await core.sandbox.run({
    tenant: scope("bench"),
    tool: "bench",
    mode: "bwrap",
    command: ["/bin/sh", "-c", WGET(`http://localhost:${port}/big`)],
    origin: "operator",
  });
  if (r.exitCode !== 0) throw new Error(`sandbox download failed: ${r.stderr}`);
  return payload.length / (Number(r.stdout.trim()) / 1e9);
}

const egress: Record<string, number[]> = { direct: [], proxy: [], wgetHost: [], wgetSandbox: [] };
for (let i = 0; i < EGRESS_RUNS; i++) {
  egress.direct!.push(await fetchDirect());
  egress.proxy!.push(await fetchViaProxy());
  egress.wgetHost!.push(await wgetOnHost());
  egress.wgetSandbox!.push(await fetchInSandbox());
}
const mbps = (xs: number[]) => +(median(xs) / 1e6).toFixed(1);
const egressResult = {
  payloadMB: EGRESS_MB,
  runs: EGRESS_RUNS,
  // A raw socket client reading the whole response: straight to the server, and through the proxy.
  rawDirectMBps: mbps(egress.direct!),
  rawViaProxyMBps: mbps(egress.proxy!),
  proxyVsDirect: +(median(egress.proxy!) / median(egress.direct!)).toFixed(2),
  // busybox wget: on the host, and inside a bwrap sandbox through the bridge and the proxy.
  wgetHostMBps: mbps(egress.wgetHost!),
  wgetSandboxMBps: mbps(egress.wgetSandbox!),
  sandboxVsHost: +(median(egress.wgetSandbox!) / median(egress.wgetHost!)).toFixed(2),
};
console.log("egress throughput (MB/s, median):", egressResult);
server.stop(true);
const limiter = (await core.sandbox.status()).host.cgroups.limiter;
core.close();

saveResult("sandbox", {
  date: new Date().toISOString(),
  machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model}`,
  command: `bun bench/sandbox.ts --rounds ${ROUNDS} --egress-mb ${EGRESS_MB} --egress-runs ${EGRESS_RUNS}`,
  limiter,
  trueStartToExitMs: overhead,
  egress: egressResult,
});
