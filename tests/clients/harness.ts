// The real upstream OpenClaw clients (the pinned `openclaw` npm package under Node 24) pointed at our
// gateway: where the install is, the environment a client runs in (a throw-away HOME and state dir, so
// nothing of the machine's is read), two tenants on a gateway answered by the fake provider, and a
// frame tap between client and gateway so a failure shows the exact protocol frames exchanged.
import { afterAll, beforeAll } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { chatWorld, type ChatWorld } from "../helpers/chat.ts";
import { createTenant, makeHome } from "../helpers/core.ts";
import { startTap, type Frame } from "./ws-tap.ts";

export { startTap, type Frame };

export const ROOT = path.join(import.meta.dir, "..", "..");
/** Where scripts/lib.sh (`ensure_openclaw_clients`) installs the pinned package; the same default. */
export const UPSTREAM_DIR = process.env.OPENCLAW_UPSTREAM_DIR ?? path.join(ROOT, ".cache", "openclaw-upstream");
export const OPENCLAW_VERSION = "2026.9.6";
export const ARTIFACTS = path.join(ROOT, "tests", "artifacts");

export interface UpstreamInstall {
  node: string;
  /** The package's entry point (run with `node`): what the `openclaw` command runs. */
  entry: string;
  controlUi: string;
  /** A file inside the package, for resolving its own dependencies (playwright-core) from there. */
  packageJson: string;
}

/** The pinned install, or an error saying how to get it (never a skip: CI installs it). */
export function upstreamInstall(): UpstreamInstall {
  const pkg = path.join(UPSTREAM_DIR, "node_modules", "openclaw");
  const u: UpstreamInstall = {
    node: path.join(UPSTREAM_DIR, "node_modules", "node", "bin", "node"),
    entry: path.join(pkg, "openclaw.mjs"),
    controlUi: path.join(pkg, "dist", "control-ui"),
    packageJson: path.join(pkg, "package.json"),
  };
  for (const f of [u.node, u.entry, path.join(u.controlUi, "index.html")]) {
    if (!fs.existsSync(f)) throw new Error(`upstream OpenClaw ${OPENCLAW_VERSION} is not installed at ${UPSTREAM_DIR} (${f} is missing): run scripts/test.sh, or \`source scripts/lib.sh && ensure_openclaw_clients\`, or set OPENCLAW_UPSTREAM_DIR`);
  }
  const version = JSON.parse(fs.readFileSync(u.packageJson, "utf8")).version;
  if (version !== OPENCLAW_VERSION) throw new Error(`${UPSTREAM_DIR} holds openclaw ${version}, the tests pin ${OPENCLAW_VERSION}: re-run ensure_openclaw_clients`);
  return u;
}

export const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));

/** A client's environment: its own HOME, state and (empty) config; the gateway from the environment. */
export function clientEnv(u: UpstreamInstall, gatewayUrl: string, token: string): { env: Record<string, string>; home: string } {
  const home = makeHome();
  fs.mkdirSync(path.join(home, "home"));
  fs.writeFileSync(path.join(home, "openclaw.json"), "{}\n");
  return {
    home,
    env: {
      PATH: `${path.dirname(u.node)}:/usr/bin:/bin`,
      HOME: path.join(home, "home"),
      OPENCLAW_STATE_DIR: path.join(home, "state"),
      OPENCLAW_CONFIG_PATH: path.join(home, "openclaw.json"),
      OPENCLAW_GATEWAY_URL: gatewayUrl,
      OPENCLAW_GATEWAY_TOKEN: token,
      TMPDIR: home,
      NO_COLOR: "1",
      TERM: "xterm-256color",
    },
  };
}

/** Runs `openclaw <args>` to the end (or the timeout) and returns what it printed. */
export async function runOpenclaw(u: UpstreamInstall, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = Bun.spawn([u.node, u.entry, ...args], { cwd: env.HOME, env, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code: proc.signalCode ? null : code, stdout, stderr };
}

/** Saves a tap's frames under tests/artifacts/ (git-ignored) for a look after a run. */
export function saveFrames(name: string, frames: Frame[]): string {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.frames.txt`);
  fs.writeFileSync(file, frames.map((f) => `${f.dir} ${f.data}`).join("\n"));
  return file;
}

export interface ClientsWorld extends ChatWorld {
  /** Tenant alpha's token (the chat world's tenant) and tenant beta's. */
  alpha: string;
  beta: string;
  /** ws://127.0.0.1:<port> of our gateway (protocol v4 on `/`). */
  wsUrl: string;
}

/**
 * Our gateway with tenants alpha and beta whose agents answer through the fake provider
 * (`w.fake.script([...])` chooses the answers). `allowedOrigins` lists the browser origins the
 * Control UI is served from (another loopback port, which the operator must list).
 */
export async function clientsWorld(opts: { allowedOrigins?: string[] } = {}): Promise<ClientsWorld> {
  const w = await chatWorld({
    tenant: "alpha",
    config: {
      gateway: { accessLog: false, websocket: { allowedOrigins: opts.allowedOrigins ?? [] } },
      agents: { defaults: { model: "gpt-4o-mini" } },
    },
  });
  const beta = createTenant(w.core, "beta");
  return { ...w, alpha: w.token, beta, wsUrl: w.gw.url.replace(/^http/, "ws") };
}

/** One call to our RPC (`POST /rpc`) as the tenant; its result, or an error naming the method. */
async function rpc(w: ClientsWorld, token: string, method: string, params: unknown): Promise<any> {
  const res = await fetch(`${w.gw.url}/rpc`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: unknown };
  if (body.error) throw new Error(`${method} failed: ${JSON.stringify(body.error)}`);
  return body.result;
}

/** The tenant's RPC `sessions.list` over our own HTTP surface. */
export async function rpcSessions(w: ClientsWorld, token: string): Promise<{ key: string; agentId?: string }[]> {
  return (await rpc(w, token, "sessions.list", {})).sessions;
}

/** The tenant's RPC `sessions.history` texts of one session (a user entry's `content`, an assistant's `text`). */
export async function rpcHistoryTexts(w: ClientsWorld, token: string, key: string): Promise<string[]> {
  const { entries } = (await rpc(w, token, "sessions.history", { sessionKey: key })) as { entries: { type: string; text?: string; content?: string }[] };
  return entries.map((e) => (e.type === "user" ? e.content : e.text) ?? "");
}

/** One turn of the tenant's agent over our RPC (chat.send, then chat.wait): seeds a session. */
export async function rpcTurn(w: ClientsWorld, token: string, sessionKey: string, message: string): Promise<void> {
  const sent = await rpc(w, token, "chat.send", { sessionKey, message });
  await rpc(w, token, "chat.wait", { runId: sent.runId, timeoutMs: 30_000 });
}

export interface ClientsSuite {
  u: UpstreamInstall;
  w: ClientsWorld;
  tap: ReturnType<typeof startTap>;
}

/**
 * A client test file's set-up: the install, the two-tenant world and a tap in front of it, built
 * before the file's tests and torn down after them (the frames saved as tests/artifacts/<name>.frames.txt).
 * The fields are filled in by beforeAll.
 */
export function clientsSuite(name: string, opts: { allowedOrigins?: () => string[] } = {}): ClientsSuite {
  const s = {} as ClientsSuite;
  beforeAll(async () => {
    s.u = upstreamInstall();
    s.w = await clientsWorld({ allowedOrigins: opts.allowedOrigins?.() });
    s.tap = startTap(s.w.wsUrl);
  });
  afterAll(async () => {
    if (s.tap) saveFrames(name, s.tap.frames);
    s.tap?.stop();
    await s.w?.close();
  });
  return s;
}
