// A real WebSocket client for GET /rpc (Bun's WebSocket), a raw handshake for what a client library
// hides (status, headers and body of a refused handshake), and a gateway listening on a free port.
import { afterEach } from "bun:test";
import net from "node:net";
import type { Core } from "../../src/app/core.ts";
import { startGateway, type GatewayHandle } from "../../src/http/gateway.ts";
import type { AnyModule } from "../../src/modules/module.ts";
import { createTenant, testCore } from "./core.ts";

export interface WsWorld {
  core: Core;
  a: string;
  b: string;
  gw: GatewayHandle;
  url: string;
  close(): Promise<void>;
}

/** A gateway with tenants alpha (token a) and beta (token b), listening on 127.0.0.1:<free>. */
export function wsWorld(gateway: Record<string, unknown> = {}, extraModules?: readonly AnyModule[]): WsWorld {
  const core = testCore({ config: { gateway: { port: 0, accessLog: false, ...gateway } }, extraModules });
  const a = createTenant(core, "alpha");
  const b = createTenant(core, "beta");
  const gw = startGateway(core);
  return { core, a, b, gw, url: `${gw.url.replace("http", "ws")}/rpc`, close: () => gw.stop() };
}

export class WsClient {
  readonly messages: any[] = [];
  closed: { code: number; reason: string } | null = null;
  private nextId = 1;
  private waiters: { pred: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  private closeWaiters: ((c: { code: number; reason: string }) => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      const m = JSON.parse(String(e.data));
      this.messages.push(m);
      for (const w of [...this.waiters]) if (w.pred(m)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(m);
      }
    };
    ws.onclose = (e) => {
      this.closed = { code: e.code, reason: e.reason };
      for (const f of this.closeWaiters.splice(0)) f(this.closed);
    };
  }

  /** Opens a connection; rejects (with the close code) when the handshake is refused. */
  static open(url: string, opts: { token?: string; protocols?: string[]; headers?: Record<string, string> } = {}): Promise<WsClient> {
    const headers = { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers };
    const ws = new WebSocket(url, { headers, protocols: opts.protocols } as never);
    return new Promise((resolve, reject) => {
      const client = new WsClient(ws);
      ws.onopen = () => resolve(client);
      ws.onerror = () => reject(new Error("handshake refused"));
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** A call with an id; resolves with its response. */
  async call(method: string, params?: unknown): Promise<any> {
    const id = this.nextId++;
    this.send({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) });
    return this.next((m) => m.id === id, `response ${id} to ${method}`);
  }

  /** The first message (already received or to come) matching `pred`. */
  next(pred: (m: any) => boolean, what = "message", timeoutMs = 5000): Promise<any> {
    const seen = this.messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.waiters.push({ pred, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }

  notifications(method?: string): any[] {
    return this.messages.filter((m) => m.id === undefined && (method === undefined || m.method === method));
  }

  waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("timed out waiting for the close")), timeoutMs);
      this.closeWaiters.push((c) => (clearTimeout(t), resolve(c)));
    });
  }

  close(): void {
    this.ws.close();
  }
}

export interface RawResponse {
  status: number;
  head: string;
  body: string;
  socket: net.Socket;
}

/**
 * A WebSocket handshake over a plain TCP socket: the status line, headers and body as sent. On a 101
 * the socket is handed back unread from then on (a client that never reads).
 */
export function rawHandshake(port: number, target: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    const lines = [`GET ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.on("error", reject);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.subarray(0, end).toString("latin1");
      const status = Number(head.split(" ")[1]);
      if (status === 101) {
        socket.off("data", onData);
        socket.pause();
        return resolve({ status, head, body: "", socket });
      }
      const len = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + len) return;
      socket.off("data", onData);
      socket.destroy();
      resolve({ status, head, body: buf.subarray(end + 4, end + 4 + len).toString("utf8"), socket });
    };
    socket.on("data", onData);
    socket.write(`${lines.join("\r\n")}\r\n\r\n`);
  });
}

/**
 * An opener of GET /rpc clients that are all closed after each test (call once, at a test file's top
 * level: it registers the afterEach).
 */
export function trackedRpcClients(): (url: string, token: string) => Promise<WsClient> {
  const open: WsClient[] = [];
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });
  return async (url, token) => {
    const c = await WsClient.open(url, { token });
    open.push(c);
    return c;
  };
}
