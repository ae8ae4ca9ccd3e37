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
import { parseClientHello } from "./client-hello.ts";
import { ambiguity, parseHead, splitAuthority, type Head } from "./http-head.ts";
import { allows, canonicalHost, refusedAddress, type EgressRule } from "../../../lib/egress-rules.ts";

export type EgressOutcome = "allowed" | "refused" | "failed";

export interface EgressEvent {
  outcome: EgressOutcome;
  method: "CONNECT" | "HTTP";
  host: string;
  port: number;
  address?: string;
  reason?: string;
  bytesUp?: number;
  bytesDown?: number;
}

export type Lookup = (host: string) => Promise<{ address: string; family: number }[]>;

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

const HOP_HEADERS = new Set(["proxy-connection", "proxy-authorization", "proxy-authenticate", "connection", "keep-alive", "te", "trailer", "upgrade", "host"]);

const defaultLookup: Lookup = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

export async function startEgressProxy(opts: EgressProxyOptions): Promise<EgressProxy> {
  const lookup = opts.lookup ?? defaultLookup;
  const maxConnections = opts.maxConnections ?? 32;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 120_000;
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

  async function vet(host: string, port: number): Promise<{ addresses: string[] } | { refused: string; status: number }> {
    if (!allows(opts.rules, host, port)) return { refused: `${host}:${port} is not in this run's egress allow-list`, status: 403 };
    let answers: { address: string }[];
    if (net.isIP(host)) answers = [{ address: host }];
    else {
      try {
        answers = await lookup(host);
      } catch {
        return { refused: `cannot resolve ${host}`, status: 502 };
      }
    }
    if (answers.length === 0) return { refused: `cannot resolve ${host}`, status: 502 };
    // A mixed answer set is refused whole: one private answer is enough to be a rebinding attempt.
    for (const a of answers) {
      const why = refusedAddress(a.address, opts.allowPrivate);
      if (why) return { refused: `${host} resolves to ${a.address} (${why})`, status: 403 };
    }
    return { addresses: answers.map((a) => a.address) };
  }

  /**
   * Tries every vetted address in the resolver's order (a name may answer ::1 first and the service
   * listen on 127.0.0.1 only); resolves with the socket and the address that answered.
   */
  async function dial(addresses: string[], port: number): Promise<{ upstream: net.Socket; address: string }> {
    let last: unknown;
    for (const address of addresses) {
      try {
        return { upstream: await dialOne(address, port), address };
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }

  function dialOne(address: string, port: number): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const upstream = net.connect({ host: address, port });
      const timer = setTimeout(() => upstream.destroy(new Error("connect timeout")), 15_000);
      upstream.once("connect", () => {
        clearTimeout(timer);
        resolve(upstream);
      });
      upstream.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  function splice(client: net.Socket, upstream: net.Socket, onDone: (up: number, down: number) => void) {
    let up = 0;
    let down = 0;
    sockets.add(upstream);
    for (const s of [client, upstream]) {
      s.setTimeout(idleTimeoutMs, () => s.destroy());
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (d: Buffer) => (up += d.length));
    upstream.on("data", (d: Buffer) => (down += d.length));
    client.pipe(upstream);
    upstream.pipe(client);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      sockets.delete(upstream);
      onDone(up, down);
    };
    client.on("close", () => {
      upstream.destroy();
      finish();
    });
    upstream.on("close", () => {
      client.end();
      finish();
    });
  }

  async function handleConnect(client: net.Socket, head: Head) {
    const target = splitAuthority(head.target, null);
    if (!target) {
      report({ outcome: "refused", method: "CONNECT", host: head.target.slice(0, 200), port: 0, reason: "malformed CONNECT authority" });
      return reply(client, 400, "Bad Request", "CONNECT needs host:port");
    }
    const { host, port } = target;
    const ambiguous = ambiguity(head, host, port, port);
    if (ambiguous) {
      report({ outcome: "refused", method: "CONNECT", host, port, reason: ambiguous });
      return reply(client, 400, "Bad Request", ambiguous);
    }
    const verdict = await vet(host, port);
    if ("refused" in verdict) {
      report({ outcome: "refused", method: "CONNECT", host, port, reason: verdict.refused });
      return reply(client, verdict.status, verdict.status === 403 ? "Forbidden" : "Bad Gateway", verdict.refused);
    }
    let upstream: net.Socket;
    let address: string;
    try {
      ({ upstream, address } = await dial(verdict.addresses, port));
    } catch (err) {
      report({ outcome: "failed", method: "CONNECT", host, port, address: verdict.addresses.join(","), reason: `connect failed: ${(err as Error).message}` });
      return reply(client, 502, "Bad Gateway", `cannot connect to ${host}:${port}`);
    }
    if (client.destroyed) return upstream.destroy();
    client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    // Hold the tunnel's first bytes until the ClientHello is complete; its SNI must name the host.
    let buffered = head.rest;
    const decide = () => {
      const hello = parseClientHello(buffered);
      if (hello.state === "need-more") return false;
      client.removeListener("data", onData);
      clearTimeout(timer);
      let problem: string | null = null;
      if (hello.state === "not-tls") problem = "the tunnel does not start with a TLS ClientHello";
      else if (hello.state === "malformed") problem = `malformed ClientHello: ${hello.reason}`;
      else {
        const sni = hello.serverName === null ? null : canonicalHost(hello.serverName);
        if (hello.serverName === null ? !net.isIP(host) : sni !== host) {
          problem = `TLS server name ${JSON.stringify(hello.serverName)} does not match ${host}`;
        }
      }
      if (problem) {
        report({ outcome: "refused", method: "CONNECT", host, port, address, reason: problem });
        client.destroy();
        upstream.destroy();
        return true;
      }
      client.pause();
      upstream.write(buffered);
      splice(client, upstream, (up, down) =>
        report({ outcome: "allowed", method: "CONNECT", host, port, address, bytesUp: up + buffered.length, bytesDown: down }),
      );
      client.resume();
      return true;
    };
    const onData = (d: Buffer) => {
      buffered = Buffer.concat([buffered, d]);
      decide();
    };
    const timer = setTimeout(() => {
      report({ outcome: "refused", method: "CONNECT", host, port, address, reason: "no TLS ClientHello within the time limit" });
      client.destroy();
      upstream.destroy();
    }, headTimeoutMs);
    if (!decide()) {
      client.on("data", onData);
      client.resume();
    }
  }

  async function handleHttp(client: net.Socket, head: Head) {
    let url: URL;
    try {
      url = new URL(head.target);
    } catch {
      report({ outcome: "refused", method: "HTTP", host: head.target.slice(0, 200), port: 0, reason: "not an absolute http:// URL" });
      return reply(client, 400, "Bad Request", "a proxy request needs an absolute http:// URL (use CONNECT for https)");
    }
    if (url.protocol !== "http:" || url.username || url.password) {
      report({ outcome: "refused", method: "HTTP", host: url.hostname, port: 0, reason: "only plain http:// URLs without credentials are proxied" });
      return reply(client, 400, "Bad Request", "only http:// URLs without credentials; use CONNECT for https");
    }
    const authority = head.target.slice(head.target.indexOf("//") + 2).split(/[/?#]/)[0]!;
    const target = splitAuthority(authority, 80);
    if (!target) {
      report({ outcome: "refused", method: "HTTP", host: authority.slice(0, 200), port: 0, reason: "malformed host" });
      return reply(client, 400, "Bad Request", "malformed host");
    }
    const { host, port } = target;
    const ambiguous = ambiguity(head, host, port, 80);
    if (ambiguous) {
      report({ outcome: "refused", method: "HTTP", host, port, reason: ambiguous });
      return reply(client, 400, "Bad Request", ambiguous);
    }
    if (head.headers.some(([k]) => k === "transfer-encoding")) {
      report({ outcome: "refused", method: "HTTP", host, port, reason: "chunked request bodies are not proxied" });
      return reply(client, 411, "Length Required", "send a Content-Length (chunked request bodies are not proxied)");
    }
    const lengthHeader = head.headers.find(([k]) => k === "content-length")?.[1];
    const bodyLength = lengthHeader === undefined ? 0 : Number(lengthHeader);
    const verdict = await vet(host, port);
    if ("refused" in verdict) {
      report({ outcome: "refused", method: "HTTP", host, port, reason: verdict.refused });
      return reply(client, verdict.status, verdict.status === 403 ? "Forbidden" : "Bad Gateway", verdict.refused);
    }
    let upstream: net.Socket;
    let address: string;
    try {
      ({ upstream, address } = await dial(verdict.addresses, port));
    } catch (err) {
      report({ outcome: "failed", method: "HTTP", host, port, address: verdict.addresses.join(","), reason: `connect failed: ${(err as Error).message}` });
      return reply(client, 502, "Bad Gateway", `cannot connect to ${host}:${port}`);
    }
    // A request of our own, from the parsed head: request line from the parsed URL, the Host the
    // policy approved, the vetted headers (hop-by-hop ones and those Connection names dropped), the
    // framing written by us (Content-Length of exactly the body we forward), one request per
    // connection — later bytes on the client connection are never forwarded.
    const hostHeader = port === 80 ? (host.includes(":") ? `[${host}]` : host) : `${host.includes(":") ? `[${host}]` : host}:${port}`;
    const lines = [`${head.method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${hostHeader}`];
    const named = new Set(head.headers.filter(([k]) => k === "connection").flatMap(([, v]) => v.toLowerCase().split(",").map((t) => t.trim())));
    for (const [k, v] of head.headers) if (!HOP_HEADERS.has(k) && !named.has(k) && k !== "content-length") lines.push(`${k}: ${v}`);
    if (lengthHeader !== undefined) lines.push(`Content-Length: ${bodyLength}`);
    lines.push("Connection: close", "", "");
    upstream.write(Buffer.from(lines.join("\r\n"), "latin1")); // header bytes as received (obs-text)
    let remaining = bodyLength;
    let up = 0;
    let down = 0;
    const forward = (d: Buffer) => {
      if (remaining <= 0) return;
      const part = d.subarray(0, remaining);
      remaining -= part.length;
      up += part.length;
      upstream.write(part);
      if (remaining <= 0) client.removeListener("data", forward);
    };
    forward(head.rest);
    if (remaining > 0) client.on("data", forward);
    client.resume();
    sockets.add(upstream);
    upstream.setTimeout(idleTimeoutMs, () => upstream.destroy());
    upstream.on("data", (d: Buffer) => {
      down += d.length;
      if (!client.write(d)) {
        upstream.pause();
        client.once("drain", () => upstream.resume());
      }
    });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      sockets.delete(upstream);
      report({ outcome: "allowed", method: "HTTP", host, port, address, bytesUp: up, bytesDown: down });
    };
    upstream.on("end", () => client.end());
    upstream.on("close", () => {
      client.end();
      finish();
    });
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
  }

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
      const run = head.method === "CONNECT" ? handleConnect(client, head) : handleHttp(client, head);
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
