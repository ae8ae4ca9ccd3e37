// Web terminal keystroke-to-echo latency, per sandbox mode: one character typed into the shell's
// PTY until its echo comes back,
//   (a) baseline — the same sandboxed shell (sandbox.run with a terminal: the same argv, mode and
//       limits) written to and read from in process, no gateway in between;
//   (b) gateway  — a WebSocket client sending terminal.input as a notification to a started gateway
//       and waiting for the terminal.output that carries the echo.
// Both against their own shell in the same run, keystrokes alternating between them, several runs;
// p50/p99 per run, medians over runs, and "beyond the sandbox" = gateway p50 − baseline p50.
//
//   nice -n 10 bun bench/terminal.ts --runs 5 --keys 200      # needs bwrap, dockerd, runsc
import fs from "node:fs";
import path from "node:path";
import { createCore } from "../src/app/core.ts";
import { readEnvironment } from "../src/config/env.ts";
import { silentLogger } from "../src/core/logger.ts";
import { mintTenantScope } from "../src/edge/tenant-scope.ts";
import { startGateway } from "../src/http/gateway.ts";
import { buildSandboxImage } from "../src/modules/sandbox/image.ts";
import { DEFAULT_IMAGE, type PtyControl } from "../src/modules/sandbox/sandbox.types.ts";
import { arg, median, saveResult, tmpdir } from "./lib.ts";

const RUNS = arg("--runs", 5);
const KEYS = arg("--keys", 200);
const MODES = [
  { label: "bwrap", mode: "bwrap", runtime: "runc" },
  { label: "docker", mode: "docker", runtime: "runc" },
  { label: "runsc", mode: "docker", runtime: "runsc" },
] as const;
const op = { actor: { kind: "operator" as const, id: "bench" }, requestId: "bench" };

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Resolves when `got()` holds (checked on every output chunk via `poke`). */
function waiter(what: string, tail: () => string) {
  let pending: { test: () => boolean; resolve: () => void } | null = null;
  return {
    wait(test: () => boolean, ms = 20_000): Promise<void> {
      if (test()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${what}: no echo; output ends ${JSON.stringify(tail().slice(-200))}`)), ms);
        pending = { test, resolve: () => (clearTimeout(t), resolve()) };
      });
    },
    poke() {
      if (pending?.test()) {
        const p = pending;
        pending = null;
        p.resolve();
      }
    },
  };
}

if (Bun.spawnSync(["docker", "image", "inspect", DEFAULT_IMAGE], { stdout: "ignore", stderr: "ignore" }).exitCode !== 0) await buildSandboxImage({ tag: DEFAULT_IMAGE });

const results: Record<string, unknown> = {};
for (const m of MODES) {
  const home = tmpdir("bench-terminal-");
  fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify({ gateway: { port: 0, accessLog: false }, sandbox: { mode: m.mode, allowedModes: ["bwrap", "docker"], docker: { runtime: m.runtime } } }));
  const core = createCore({ home, env: readEnvironment({ PATH: process.env.PATH }), log: silentLogger() });
  const token = core.tenants.create({ id: "bench" }, op).token;
  const gw = startGateway(core);

  // (a) the sandboxed shell, in process.
  let baseOut = "";
  const bw = waiter(`${m.label} baseline`, () => baseOut);
  let pty!: PtyControl;
  let opened!: () => void;
  const ready = new Promise<void>((r) => (opened = r));
  const abort = new AbortController();
  const baseRun = core.sandbox.run({
    tenant: mintTenantScope("bench"),
    command: ["/bin/sh", "-i"],
    origin: "operator",
    signal: abort.signal,
    terminal: { cols: 80, rows: 24, lifetimeSeconds: 3600, onData: (b) => ((baseOut += new TextDecoder().decode(b)), bw.poke()), onOpen: (p) => ((pty = p), opened()) },
  });
  await ready;

  // (b) the same shell through the gateway, over a WebSocket.
  const ws = new WebSocket(`${gw.url.replace("http", "ws")}/rpc`, { headers: { authorization: `Bearer ${token}` } } as never);
  await new Promise((r) => (ws.onopen = r));
  let gwOut = "";
  const gwait = waiter(`${m.label} gateway`, () => gwOut);
  let terminalId = "";
  const opened2 = new Promise<void>((resolve) => {
    ws.onmessage = (e) => {
      const msg = JSON.parse(String(e.data));
      if (msg.id === 1) {
        terminalId = msg.result.terminalId;
        resolve();
      } else if (msg.method === "terminal.output") {
        gwOut += msg.params.data;
        gwait.poke();
      }
    };
  });
  ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "terminal.open", params: { cols: 80, rows: 24 } }));
  await opened2;
  // Both prompts drawn (and ash's cursor question answered, as xterm.js would).
  await bw.wait(() => /\$ (\x1b\[6n|\x1b\[J)?$/.test(baseOut));
  await gwait.wait(() => /\$ (\x1b\[6n|\x1b\[J)?$/.test(gwOut));
  const gwType = (data: string) => ws.send(JSON.stringify({ jsonrpc: "2.0", method: "terminal.input", params: { terminalId, data } }));
  if (baseOut.endsWith("\x1b[6n")) pty.write("\x1b[1;5R");
  if (gwOut.endsWith("\x1b[6n")) gwType("\x1b[1;5R");
  await Bun.sleep(500);

  const runs: { baseP50: number; baseP99: number; gwP50: number; gwP99: number }[] = [];
  for (let r = 0; r < RUNS; r++) {
    const base: number[] = [];
    const viaGw: number[] = [];
    for (let k = 0; k < KEYS; k++) {
      const ch = String.fromCharCode(97 + (k % 26));
      // Alternate which side goes first, so neither always meets a warmer machine.
      for (const side of k % 2 ? (["gw", "base"] as const) : (["base", "gw"] as const)) {
        if (side === "base") {
          const n = baseOut.length;
          const t0 = performance.now();
          pty.write(ch);
          await bw.wait(() => baseOut.length > n && baseOut.slice(n).includes(ch));
          base.push(performance.now() - t0);
        } else {
          const n = gwOut.length;
          const t0 = performance.now();
          gwType(ch);
          await gwait.wait(() => gwOut.length > n && gwOut.slice(n).includes(ch));
          viaGw.push(performance.now() - t0);
        }
      }
      // A typist's pace, under the connection's frame rate (gateway.websocket.messagesPerSecond, 50):
      // faster, keystrokes sent as notifications would be refused, and a refused notification has no answer.
      await Bun.sleep(25);
      // Keep the line short: kill it every 40 characters (^U).
      if (k % 40 === 39) {
        pty.write("\x15");
        gwType("\x15");
        await Bun.sleep(50);
      }
    }
    runs.push({ baseP50: pct(base, 50), baseP99: pct(base, 99), gwP50: pct(viaGw, 50), gwP99: pct(viaGw, 99) });
    console.log(`${m.label} run ${r + 1}: baseline p50 ${pct(base, 50).toFixed(2)} ms p99 ${pct(base, 99).toFixed(2)} ms | gateway p50 ${pct(viaGw, 50).toFixed(2)} ms p99 ${pct(viaGw, 99).toFixed(2)} ms`);
  }
  const summary = {
    keysPerRun: KEYS,
    runs,
    baselineP50Ms: +median(runs.map((x) => x.baseP50)).toFixed(2),
    baselineP99Ms: +median(runs.map((x) => x.baseP99)).toFixed(2),
    gatewayP50Ms: +median(runs.map((x) => x.gwP50)).toFixed(2),
    gatewayP99Ms: +median(runs.map((x) => x.gwP99)).toFixed(2),
  };
  const beyond = +(summary.gatewayP50Ms - summary.baselineP50Ms).toFixed(2);
  results[m.label] = { ...summary, beyondSandboxP50Ms: beyond, targetP50Ms: 15, met: beyond <= 15 };
  console.log(`${m.label}: beyond the sandbox p50 ${beyond} ms (target ≤ 15 ms)`);
  ws.close();
  abort.abort();
  await baseRun.catch(() => {});
  await core.terminal.stopAll();
  await gw.stop();
  core.close();
  fs.rmSync(home, { recursive: true, force: true });
}

saveResult("terminal", { command: `bun bench/terminal.ts --runs ${RUNS} --keys ${KEYS}`, date: new Date().toISOString(), results });
