// Terminal test worlds: a started gateway whose sandbox runs in the mode under test, tenants alpha
// and beta, and real WebSocket clients on GET /rpc that read a terminal's output back.
import type { Core } from "../../../src/app/core.ts";
import type { Clock } from "../../../src/core/clock.ts";
import type { Timers } from "../../../src/core/timers.ts";
import { startGateway, type GatewayHandle } from "../../../src/http/gateway.ts";
import { createTenant, testCore } from "../../helpers/core.ts";
import type { ModeUnderTest } from "../../helpers/sandbox.ts";
import { WsClient } from "../../helpers/ws.ts";

export interface TermWorld {
  core: Core;
  a: string;
  b: string;
  gw: GatewayHandle;
  url: string;
  client(token: string): Promise<WsClient>;
  close(): Promise<void>;
}

export function termWorld(m: ModeUnderTest, opts: { terminal?: Record<string, unknown>; gateway?: Record<string, unknown>; sandbox?: Record<string, unknown>; clock?: Clock; timers?: Timers } = {}): TermWorld {
  const core = testCore({
    clock: opts.clock,
    timers: opts.timers,
    config: {
      gateway: { port: 0, accessLog: false, ...opts.gateway, terminal: { ...opts.terminal } },
      sandbox: { mode: m.mode, allowedModes: ["bwrap", "docker"], docker: { runtime: m.runtime ?? "runc" }, ...opts.sandbox },
    },
  });
  const a = createTenant(core, "alpha");
  const b = createTenant(core, "beta");
  const gw = startGateway(core);
  const url = `${gw.url.replace("http", "ws")}/rpc`;
  const clients: WsClient[] = [];
  return {
    core,
    a,
    b,
    gw,
    url,
    async client(token) {
      const c = await WsClient.open(url, { token });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      await core.terminal.stopAll();
      await gw.stop();
    },
  };
}

/** The terminal's output told to this client so far, in order. */
export function outputOf(c: WsClient, terminalId: string): string {
  return c
    .notifications("terminal.output")
    .filter((n) => n.params.terminalId === terminalId)
    .sort((x, y) => x.params.seq - y.params.seq)
    .map((n) => n.params.data)
    .join("");
}

/** Waits until the terminal's output (as told to `c`, after `from` characters) matches. */
export async function waitOutput(c: WsClient, terminalId: string, re: RegExp, timeoutMs = 15_000, from = 0): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const out = outputOf(c, terminalId).slice(from);
    if (re.test(out)) return out;
    await Bun.sleep(20);
  }
  throw new Error(`timed out waiting for ${re} in terminal output: ${JSON.stringify(outputOf(c, terminalId).slice(from).slice(-500))}`);
}

export function typeInto(c: WsClient, terminalId: string, data: string): void {
  c.send({ jsonrpc: "2.0", method: "terminal.input", params: { terminalId, data } });
}

/**
 * Waits for the shell's first prompt: `$ ` (dash) or `~ $ ` (busybox ash, the docker image's /bin/sh),
 * which may be followed by ash asking the terminal where its cursor is (ESC[6n; any key answers it).
 */
export async function waitPrompt(c: WsClient, terminalId: string): Promise<void> {
  await waitOutput(c, terminalId, /\$ (\x1b\[J|\x1b\[6n)?$/, 40_000);
}

/**
 * Types `stty size` until the shell reports `rows cols`: docker's CLI passes a resize on to the
 * container asynchronously (an API call after its SIGWINCH), so the first look may come before it.
 */
export async function waitSize(c: WsClient, terminalId: string, rows: number, cols: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const want = new RegExp(`\\r\\n${rows} ${cols}\\r\\n`);
  while (Date.now() < deadline) {
    const from = outputOf(c, terminalId).length;
    typeInto(c, terminalId, "stty size\r");
    try {
      await waitOutput(c, terminalId, want, 1000, from);
      return;
    } catch {
      // not yet
    }
  }
  throw new Error(`the shell never saw ${rows} ${cols}: ${JSON.stringify(outputOf(c, terminalId).slice(-300))}`);
}
