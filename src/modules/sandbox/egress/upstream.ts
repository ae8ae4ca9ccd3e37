// The step every proxied request takes before a byte reaches a host: the target checked against the
// run's allow-list (before any DNS), resolved once, every answer refused if private or metadata
// (unless allowPrivate names it), and only vetted addresses dialled. A refusal or a failure is
// answered to the client and reported here; the caller gets the open socket or nothing.
import net from "node:net";
import { allows, refusedAddress, type EgressRule } from "../../../lib/egress-rules.ts";

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

/** What the request handlers share with the proxy: its policy and limits, its open sockets, and how to answer and report. */
export interface ProxyContext {
  rules: readonly EgressRule[];
  allowPrivate: net.BlockList | null;
  lookup: Lookup;
  idleTimeoutMs: number;
  headTimeoutMs: number;
  /** Every open socket, destroyed when the proxy closes. */
  sockets: Set<net.Socket>;
  report(e: EgressEvent): void;
  /** A short plain-text answer to the client, then the connection closes. */
  reply(client: net.Socket, status: number, text: string, message: string): void;
}

async function vet(ctx: ProxyContext, host: string, port: number): Promise<{ addresses: string[] } | { refused: string; status: number }> {
  if (!allows(ctx.rules, host, port)) return { refused: `${host}:${port} is not in this run's egress allow-list`, status: 403 };
  let answers: { address: string }[];
  if (net.isIP(host)) answers = [{ address: host }];
  else {
    try {
      answers = await ctx.lookup(host);
    } catch {
      return { refused: `cannot resolve ${host}`, status: 502 };
    }
  }
  if (answers.length === 0) return { refused: `cannot resolve ${host}`, status: 502 };
  // A mixed answer set is refused whole: one private answer is enough to be a rebinding attempt.
  for (const a of answers) {
    const why = refusedAddress(a.address, ctx.allowPrivate);
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

/**
 * Vets and dials `host:port` for a client's request. Returns the upstream socket and the address that
 * answered, or null once the client has been answered (refused: 403 or 502; unreachable: 502).
 */
export async function openUpstream(ctx: ProxyContext, client: net.Socket, method: EgressEvent["method"], host: string, port: number): Promise<{ upstream: net.Socket; address: string } | null> {
  const verdict = await vet(ctx, host, port);
  if ("refused" in verdict) {
    ctx.report({ outcome: "refused", method, host, port, reason: verdict.refused });
    ctx.reply(client, verdict.status, verdict.status === 403 ? "Forbidden" : "Bad Gateway", verdict.refused);
    return null;
  }
  try {
    return await dial(verdict.addresses, port);
  } catch (err) {
    ctx.report({ outcome: "failed", method, host, port, address: verdict.addresses.join(","), reason: `connect failed: ${(err as Error).message}` });
    ctx.reply(client, 502, "Bad Gateway", `cannot connect to ${host}:${port}`);
    return null;
  }
}

/** Pipes client and upstream into each other until either closes; reports the bytes each way. */
export function splice(ctx: ProxyContext, client: net.Socket, upstream: net.Socket, onDone: (up: number, down: number) => void) {
  let up = 0;
  let down = 0;
  ctx.sockets.add(upstream);
  for (const s of [client, upstream]) {
    s.setTimeout(ctx.idleTimeoutMs, () => s.destroy());
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
    ctx.sockets.delete(upstream);
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
