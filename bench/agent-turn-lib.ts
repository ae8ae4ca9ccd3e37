// Helpers for bench/agent-turn.ts: a timing proxy in front of the fake provider (so each turn's own
// model time can be subtracted), process-tree memory figures from /proc, pausing a whole tree, and
// upstream OpenClaw started in a throw-away state directory.
import fs from "node:fs";
import path from "node:path";
import { freePort, startJsonPrinter, tmpdir } from "./lib.ts";

export interface ProviderCall {
  start: number;
  end: number;
  path: string;
  requestBytes: number;
  /** What the gateway sent the model: message count, system-prompt characters, tool definitions, streamed or not. */
  shape: { messages: number; systemChars: number; tools: number; stream: boolean } | null;
}

function shapeOf(body: ArrayBuffer | undefined): ProviderCall["shape"] {
  if (!body || body.byteLength > 50e6) return null;
  try {
    return shapeOfJson(JSON.parse(new TextDecoder().decode(body)));
  } catch {
    return null;
  }
}

function shapeOfJson(parsed: unknown): ProviderCall["shape"] {
  if (!parsed || typeof parsed !== "object") return null;
  try {
    const b = parsed as { messages?: { role?: string; content?: unknown }[]; system?: unknown; tools?: unknown[]; stream?: boolean };
    const text = (c: unknown): number => (typeof c === "string" ? c.length : Array.isArray(c) ? c.reduce((a: number, p) => a + (typeof p?.text === "string" ? p.text.length : 0), 0) : 0);
    const systemChars = (b.messages ?? []).filter((m) => m.role === "system" || m.role === "developer").reduce((a, m) => a + text(m.content), 0) + text(b.system);
    return { messages: b.messages?.length ?? 0, systemChars, tools: b.tools?.length ?? 0, stream: b.stream === true };
  } catch {
    return null;
  }
}

/**
 * A pass-through in front of the fake provider that timestamps every model call, from the moment its
 * request reaches the proxy to the moment the provider's whole answer has been read. That interval is
 * the model's time as the gateway sees it (the fake's own handling plus one loopback hop); what a turn
 * takes beyond it is what the gateway adds. Answers are buffered whole before they are passed on: the
 * fake answers at once, so a streamed answer only changes shape, not timing.
 */
export function startTimingProxy(providerUrl: string): { url: string; calls: ProviderCall[]; stop(): void } {
  const calls: ProviderCall[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const start = performance.now();
      const u = new URL(req.url);
      const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer();
      const headers = new Headers(req.headers);
      headers.delete("host");
      headers.delete("content-length");
      const res = await fetch(`${providerUrl}${u.pathname}${u.search}`, { method: req.method, headers, body });
      const answer = await res.arrayBuffer();
      const end = performance.now();
      if (req.method === "POST") calls.push({ start, end, path: u.pathname, requestBytes: body?.byteLength ?? 0, shape: shapeOf(body) });
      const out = new Headers();
      for (const k of ["content-type", "cache-control", "retry-after"]) {
        const v = res.headers.get(k);
        if (v) out.set(k, v);
      }
      return new Response(answer, { status: res.status, headers: out });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, calls, stop: () => server.stop(true) };
}

/**
 * Where a benchmark reads each model call's interval: `proxy` — the timing proxy above, in the
 * benchmark's own process (its hop to the fake and its relay back are counted as the gateway's);
 * `fake` — the fake provider times each call itself, in its own process, and the gateway talks to it
 * directly (nothing of the harness between them). Times are absolute (performance.timeOrigin + now),
 * comparable with the tap's and across processes.
 */
export interface ModelTimer {
  kind: "proxy" | "fake";
  /** The base URL a gateway's provider points at. */
  url: string;
  /** The calls recorded since the last take, forgotten. */
  take(): Promise<ProviderCall[]>;
  stop(): void;
}

export function proxyTimer(providerUrl: string): ModelTimer & { proxy: ReturnType<typeof startTimingProxy> } {
  const proxy = startTimingProxy(providerUrl);
  const origin = performance.timeOrigin;
  return {
    kind: "proxy",
    url: proxy.url,
    proxy,
    take: async () => proxy.calls.splice(0).map((c) => ({ ...c, start: c.start + origin, end: c.end + origin })),
    stop: proxy.stop,
  };
}

export function fakeTimer(providerUrl: string, timingUrl: string): ModelTimer {
  return {
    kind: "fake",
    url: providerUrl,
    take: async () => {
      const calls = (await (await fetch(`${timingUrl}/calls`)).json()) as { start: number; end: number; path: string; requestBytes: number; body: unknown }[];
      return calls.map((c) => ({ start: c.start, end: c.end, path: c.path, requestBytes: c.requestBytes, shape: shapeOfJson(c.body) }));
    },
    stop: () => {},
  };
}

/** Total length of the union of the calls' intervals inside [from, to] (parallel calls count once). */
export function providerTimeWithin(calls: ProviderCall[], from: number, to: number): { ms: number; count: number; requestBytes: number; shape: ProviderCall["shape"] } {
  const inside = calls.filter((c) => c.end > from && c.start < to).map((c) => [Math.max(c.start, from), Math.min(c.end, to)] as const);
  inside.sort((a, b) => a[0] - b[0]);
  let ms = 0;
  let curS = -1;
  let curE = -1;
  for (const [s, e] of inside) {
    if (s > curE) {
      if (curE > curS) ms += curE - curS;
      curS = s;
      curE = e;
    } else curE = Math.max(curE, e);
  }
  if (curE > curS) ms += curE - curS;
  const whole = calls.filter((c) => c.start >= from && c.end <= to);
  return { ms, count: inside.length, requestBytes: whole.reduce((a, c) => a + c.requestBytes, 0), shape: whole.at(-1)?.shape ?? null };
}

/** `pid` and all its descendants, from /proc. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {}
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

function statusKb(pid: number, key: string): number {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export interface Memory {
  /** RSS of the gateway's own process. */
  rssMB: number;
  /** Its peak RSS so far (VmHWM). */
  peakRssMB: number;
  /** The gateway and every process it started: summed RSS (shared pages counted in each) and summed PSS. */
  treeRssMB: number;
  treePssMB: number;
  processes: number;
}

export function memoryOf(pid: number): Memory {
  const tree = processTree(pid);
  const mb = (kb: number) => Number((kb / 1024).toFixed(1));
  return {
    rssMB: mb(statusKb(pid, "VmRSS")),
    peakRssMB: mb(statusKb(pid, "VmHWM")),
    treeRssMB: mb(tree.reduce((a, p) => a + statusKb(p, "VmRSS"), 0)),
    treePssMB: mb(tree.reduce((a, p) => a + pssKb(p), 0)),
    processes: tree.length,
  };
}

/**
 * CPU time (ns) the process tree has run so far: the sum of every live thread's schedstat run time.
 * Threads that ended in between are not counted (a lower bound); the gateways here keep theirs.
 */
export function cpuNs(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    let tasks: string[] = [];
    try {
      tasks = fs.readdirSync(`/proc/${p}/task`);
    } catch {}
    for (const t of tasks) {
      try {
        total += Number(fs.readFileSync(`/proc/${p}/task/${t}/schedstat`, "utf8").split(" ")[0]);
      } catch {}
    }
  }
  return total;
}

/** Stops, resumes or kills a process and everything it started (its helpers must not run while paused). */
export function signalTree(pid: number, signal: "SIGSTOP" | "SIGCONT" | "SIGKILL"): void {
  for (const p of processTree(pid)) {
    try {
      process.kill(p, signal);
    } catch {}
  }
}

export const UPSTREAM_TOKEN = "upbench-gateway-token-0123456789abcdef";

/**
 * Upstream OpenClaw's gateway as an operator would run it for this: its own state and config in a
 * fresh temporary directory (HOME too, so nothing of the machine's is read), loopback only, token
 * auth, the OpenAI-compatible endpoint switched on, and one custom provider — the fake, through the
 * timing proxy — as the default agent's model. Nothing else is configured (no channels).
 */
export function startUpstreamGateway(upstreamDir: string, providerUrl: string): { proc: ReturnType<typeof Bun.spawn>; url: string; home: string } {
  const node = path.join(upstreamDir, "node_modules", "node", "bin", "node");
  const entry = path.join(upstreamDir, "node_modules", "openclaw", "openclaw.mjs");
  for (const f of [node, entry]) {
    if (!fs.existsSync(f))
      throw new Error(
        `upstream OpenClaw is not installed at ${upstreamDir} (${f} is missing). Install it once (see bench/README.md): ` +
          `mkdir -p ${upstreamDir} && cd ${upstreamDir} && npm init -y && npm install node@24 && PATH=$PWD/node_modules/.bin:$PATH npm install openclaw@2026.9.6`,
      );
  }
  const home = tmpdir("bench-upstream-");
  const config = {
    gateway: { mode: "local", bind: "loopback", auth: { mode: "token", token: UPSTREAM_TOKEN }, http: { endpoints: { chatCompletions: { enabled: true } } } },
    logging: { file: path.join(home, "openclaw.log") },
    models: {
      mode: "merge",
      providers: {
        fake: {
          baseUrl: `${providerUrl}/v1`,
          apiKey: "sk-fake",
          api: "openai-completions",
          models: [{ id: "fake-model", name: "Fake", reasoning: false, input: ["text"], cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, contextWindow: 128000, maxTokens: 4096 }],
        },
      },
    },
    agents: { defaults: { model: { primary: "fake/fake-model" } } },
  };
  fs.mkdirSync(path.join(home, "home"));
  fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify(config, null, 2));
  const port = freePort();
  const env: Record<string, string> = {
    PATH: `${path.dirname(node)}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    HOME: path.join(home, "home"),
    OPENCLAW_STATE_DIR: path.join(home, "state"),
    OPENCLAW_CONFIG_PATH: path.join(home, "openclaw.json"),
    TMPDIR: home,
    NO_COLOR: "1",
  };
  const out = fs.openSync(path.join(home, "gateway.out"), "w");
  const proc = Bun.spawn([node, entry, "gateway", "--port", String(port), "--bind", "loopback"], { cwd: home, env, stdout: out, stderr: out });
  return { proc, url: `http://127.0.0.1:${port}`, home };
}

/** Waits until `url` answers 2xx (upstream's /readyz, our /healthz), or fails naming the log. */
export async function waitReady(url: string, proc: ReturnType<typeof Bun.spawn>, timeoutMs: number, log?: string): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (proc.exitCode !== null) throw new Error(`${url}: the process exited (${proc.exitCode}) before it was ready${log ? `; see ${log}` : ""}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return performance.now() - t0;
    } catch {}
    await Bun.sleep(250);
  }
  throw new Error(`${url} was not ready after ${timeoutMs} ms${log ? `; see ${log}` : ""}`);
}

/**
 * What the benchmarks against upstream start first: the fake provider in its own process behind the
 * timing proxy, then upstream's gateway alone until it is ready. Every child (and what it started,
 * resumed first if paused) is killed when the benchmark exits; push more onto `children`.
 */
export async function startFakeAndUpstream(
  upstreamDir: string,
  opts: { timing?: "proxy" | "fake" } = {},
): Promise<{
  children: ReturnType<typeof Bun.spawn>[];
  cleanup: () => void;
  /** The timing proxy (timing "proxy", the default), null with timing "fake". */
  proxy: ReturnType<typeof startTimingProxy>;
  /** Where the gateways' provider points, and the model calls' intervals. */
  model: ModelTimer;
  upstream: ReturnType<typeof startUpstreamGateway>;
  upstreamReadyMs: number;
}> {
  const children: ReturnType<typeof Bun.spawn>[] = [];
  const cleanup = () => {
    for (const c of children) {
      signalTree(c.pid, "SIGCONT");
      signalTree(c.pid, "SIGKILL");
    }
  };
  process.on("exit", cleanup);
  process.on("SIGINT", () => process.exit(130));
  const timing = opts.timing ?? "proxy";
  const fake = await startJsonPrinter(["bun", "tests/fake-provider/main.ts", "0", ...(timing === "fake" ? ["--timing"] : [])]);
  children.push(fake.proc);
  const model: ModelTimer = timing === "fake" ? fakeTimer(fake.url, String(fake.printed.timingUrl)) : proxyTimer(fake.url);
  const proxy = "proxy" in model ? (model.proxy as ReturnType<typeof startTimingProxy>) : (null as never);
  // On a loaded machine upstream sometimes gives up starting ("state lease heartbeat did not become
  // ready … timeoutMs=5000") and exits: try again, up to three times, each in a fresh state directory.
  for (let attempt = 1; ; attempt++) {
    const upstream = startUpstreamGateway(upstreamDir, model.url);
    children.push(upstream.proc);
    try {
      const upstreamReadyMs = await waitReady(`${upstream.url}/readyz`, upstream.proc, 300_000, path.join(upstream.home, "gateway.out"));
      return { children, cleanup, proxy, model, upstream, upstreamReadyMs };
    } catch (e) {
      if (attempt >= 3 || upstream.proc.exitCode === null) throw e;
      console.error(`upstream's gateway did not start (attempt ${attempt}): ${(e as Error).message}; trying again`);
      fs.rmSync(upstream.home, { recursive: true, force: true });
    }
  }
}
