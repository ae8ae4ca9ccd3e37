// Helpers for the HTTP benchmarks: start processes, run wrk, parse its output, take medians.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const ROOT = path.join(import.meta.dir, "..");

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

/** A TCP port nothing listens on right now (bind port 0, read it, close). */
export function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

export function tmpdir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startJsonPrinter(cmd: string[], env: Record<string, string> = {}, opts: { stderr?: "inherit" | "ignore" } = {}): Promise<{ proc: ReturnType<typeof Bun.spawn>; url: string; printed: Record<string, unknown> }> {
  const proc = Bun.spawn(cmd, { cwd: ROOT, env: { ...process.env, ...env }, stdout: "pipe", stderr: opts.stderr ?? "inherit" });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`${cmd.join(" ")} exited before printing its URL`);
    out += Buffer.from(value).toString();
  }
  reader.releaseLock();
  const printed = JSON.parse(out.split("\n")[0]!) as { url: string };
  return { proc, url: printed.url, printed };
}

export interface WrkResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "s" ? n * 1000 : n;
}

/** Runs wrk with a Lua script that sets method, body and headers. */
export function wrk(url: string, opts: { method: string; body?: string; headers?: Record<string, string>; connections: number; threads: number; seconds: number }): WrkResult {
  const dir = tmpdir("wrk-");
  const lua = path.join(dir, "req.lua");
  const headerLines = Object.entries(opts.headers ?? {}).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`);
  fs.writeFileSync(lua, [`wrk.method = ${JSON.stringify(opts.method)}`, ...(opts.body ? [`wrk.body = ${JSON.stringify(opts.body)}`] : []), ...headerLines].join("\n"));
  const r = Bun.spawnSync(["wrk", "--latency", `-t${opts.threads}`, `-c${opts.connections}`, `-d${opts.seconds}s`, "-s", lua, url], { stdout: "pipe", stderr: "pipe" });
  const out = r.stdout.toString();
  fs.rmSync(dir, { recursive: true, force: true });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = toMs(/\n\s+50%\s+(\S+)/.exec(out)?.[1] ?? "");
  const p99 = toMs(/\n\s+99%\s+(\S+)/.exec(out)?.[1] ?? "");
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sockErr ? sockErr.slice(1).map(Number).reduce((a, b) => a + b, 0) : 0);
  if (!Number.isFinite(rps)) throw new Error(`wrk output not understood:\n${out}\n${r.stderr.toString()}`);
  return { rps, p50ms: p50, p99ms: p99, errors };
}

export function ensureBinary(): string {
  const bin = path.join(ROOT, "dist", "openclaw");
  const r = Bun.spawnSync(["bun", "run", "build"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return bin;
}

export function saveResult(name: string, result: unknown): void {
  const dir = path.join(ROOT, "bench", "results");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
}

/** `extra` laid over `base`: objects merge key by key, anything else replaces. */
export function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const b = out[k];
    const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
    out[k] = isObj(b) && isObj(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/**
 * The gateway as the routing benchmarks run it: the compiled binary in a fresh home, routing
 * `gpt-4o-mini` to the fake provider at `providerUrl`, with governance on — every quota limit set (high
 * enough never to refuse), so each request is admitted against all four, reserved, reconciled and
 * written to the ledger — and one tenant. The access log stays on (a line per request is formatted
 * and written) but goes to /dev/null: where an operator's log lands is not what is measured.
 * `extraConfig` is laid over that admin config (the agent-turn benchmark's agent settings).
 */
export async function startGovernedGateway(
  bin: string,
  providerUrl: string,
  prefix: string,
  extraConfig: Record<string, unknown> = {},
): Promise<{ proc: ReturnType<typeof Bun.spawn>; url: string; token: string; home: string }> {
  const home = tmpdir(prefix);
  const config = {
    providers: { fake: { kind: "openai", baseUrl: `${providerUrl}/v1`, apiKey: "sk-fake" } },
    models: { "gpt-4o-mini": { provider: "fake", upstreamModel: "fake-mini" } },
    billing: { rateCard: { "gpt-4o-mini": { input: 0.15, output: 0.6, cacheRead: 0.075 } } },
    quotas: { defaults: { tokensPerDay: 1e12, costPerDayUsd: 1e6, requestsPerMinute: 1e9, maxConcurrent: 1e6 } },
  };
  fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify(deepMerge(config, extraConfig)));
  const env = { OPENCLAW_HOME: home };
  const created = Bun.spawnSync([bin, "tenants", "create", "bench", "--json"], { env: { ...process.env, ...env }, stdout: "pipe" });
  const token = (JSON.parse(created.stdout.toString()) as { token: string }).token;
  const gateway = await startJsonPrinter([bin, "gateway", "--port", "0", "--json"], env, { stderr: "ignore" });
  return { ...gateway, token, home };
}

/**
 * The minimal client of the c=1 benchmarks: sends `body` to `url`, reads the whole answer, records the
 * time, sends the next, for `secs` seconds; prints its percentiles (ms) as JSON. Run in a process of its own.
 */
export async function c1ClientLoop(url: string, token: string, secs: number, body: string): Promise<void> {
  const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
  const times: number[] = [];
  const end = performance.now() + secs * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    const r = await fetch(url, { method: "POST", body, headers });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`HTTP ${r.status} from ${url}`);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(times.length * p))]!;
  console.log(JSON.stringify({ n: times.length, p50: q(0.5), p90: q(0.9), p99: q(0.99) }));
}
