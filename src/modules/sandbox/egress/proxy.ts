// The per-run egress proxy. It listens on a Unix socket in a private directory; the socket (and
// nothing else of the host) is mounted into the sandbox, where a bridge on 127.0.0.1:3128 forwards
// to it. One socket per run identifies the run without any token. Pipeline for each connection:
// parse strictly (http-head.ts) → canonicalise the host → policy (before any DNS) → resolve once →
// refuse private and metadata answers → dial only vetted addresses → (CONNECT) require TLS with SNI
// == host → splice; (plain HTTP) write one request of our own from the parsed head. Every decision
// is reported through onEvent.
import dns from "node:dns";
import fs from "node:fs";
import net from "node:net";
import type { EgressRule } from "../../../lib/egress-rules.ts";
import { handleConnect } from "./connect.ts";
import { parseHead } from "./http-head.ts";
import { handleHttp } from "./plain-http.ts";
import type { EgressEvent, Lookup, ProxyContext } from "./upstream.ts";

export type { EgressEvent, EgressOutcome, Lookup } from "./upstream.ts";

export interface EgressProxyOptions {
  socketPath: string;
  rules: readonly EgressRule[];
  allowPrivate: net.BlockList | null;
  onEvent(e: EgressEvent): void;
  lookup?: Lookup;
  maxConnections?: number;
  idleTimeoutMs?: number;
  headTimeoutMs?: number;
}

export interface EgressProxy {
  readonly socketPath: string;
  readonly counts: { allowed: number; refused: number; failed: number };
  close(): Promise<void>;
}

const defaultLookup: Lookup = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

export async function startEgressProxy(opts: EgressProxyOptions): Promise<EgressProxy> {
  const maxConnections = opts.maxConnections ?? 32;
  const headTimeoutMs = opts.headTimeoutMs ?? 10_000;
  const counts = { allowed: 0, refused: 0, failed: 0 };
  const sockets = new Set<net.Socket>();
  const clients = new Set<net.Socket>();

  const report = (e: EgressEvent) => {
    counts[e.outcome]++;
    try {
      opts.onEvent(e);
    } catch {
      // a reporting failure never breaks the tunnel
    }
  };

  function reply(client: net.Socket, status: number, text: string, message: string) {
    const body = `${message}\n`;
    client.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }

  const ctx: ProxyContext = {
    rules: opts.rules,
    allowPrivate: opts.allowPrivate,
    lookup: opts.lookup ?? defaultLookup,
    idleTimeoutMs: opts.idleTimeoutMs ?? 120_000,
    headTimeoutMs,
    sockets,
    report,
    reply,
  };

  const server = net.createServer({ pauseOnConnect: false }, (client) => {
    if (clients.size >= maxConnections) {
      report({ outcome: "refused", method: "CONNECT", host: "-", port: 0, reason: `more than ${maxConnections} open connections in this run` });
      client.destroy();
      return;
    }
    sockets.add(client);
    clients.add(client);
    client.on("close", () => {
      sockets.delete(client);
      clients.delete(client);
    });
    client.on("error", () => client.destroy());
    let buf = Buffer.alloc(0);
    const headTimer = setTimeout(() => client.destroy(), headTimeoutMs);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const head = parseHead(buf);
      if (head === null) return;
      client.removeListener("data", onData);
      clearTimeout(headTimer);
      client.pause();
      if ("bad" in head) {
        report({ outcome: "refused", method: "HTTP", host: "-", port: 0, reason: `malformed proxy request: ${head.bad}` });
        return reply(client, 400, "Bad Request", `malformed proxy request: ${head.bad}`);
      }
      const run = head.method === "CONNECT" ? handleConnect(ctx, client, head) : handleHttp(ctx, client, head);
      run.catch(() => client.destroy());
    };
    client.on("data", onData);
  });

  fs.rmSync(opts.socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.socketPath, () => resolve());
  });
  // The sandbox's uid differs from the gateway's: the socket itself is open, its 0700 parent is not.
  fs.chmodSync(opts.socketPath, 0o666);

  return {
    socketPath: opts.socketPath,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
        fs.rmSync(opts.socketPath, { force: true });
      }),
  };
}
