// CONNECT through the egress proxy: the authority checked, the upstream opened (upstream.ts), and
// the tunnel held until the client's TLS ClientHello is complete — its server name must be the host
// the policy allowed — then spliced.
import net from "node:net";
import { canonicalHost } from "../../../lib/egress-rules.ts";
import { parseClientHello } from "./client-hello.ts";
import { ambiguity, splitAuthority, type Head } from "./http-head.ts";
import { openUpstream, splice, type ProxyContext } from "./upstream.ts";

export async function handleConnect(ctx: ProxyContext, client: net.Socket, head: Head) {
  const target = splitAuthority(head.target, null);
  if (!target) {
    ctx.report({ outcome: "refused", method: "CONNECT", host: head.target.slice(0, 200), port: 0, reason: "malformed CONNECT authority" });
    return ctx.reply(client, 400, "Bad Request", "CONNECT needs host:port");
  }
  const { host, port } = target;
  const ambiguous = ambiguity(head, host, port, port);
  if (ambiguous) {
    ctx.report({ outcome: "refused", method: "CONNECT", host, port, reason: ambiguous });
    return ctx.reply(client, 400, "Bad Request", ambiguous);
  }
  const opened = await openUpstream(ctx, client, "CONNECT", host, port);
  if (!opened) return;
  const { upstream, address } = opened;
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
      ctx.report({ outcome: "refused", method: "CONNECT", host, port, address, reason: problem });
      client.destroy();
      upstream.destroy();
      return true;
    }
    client.pause();
    upstream.write(buffered);
    splice(ctx, client, upstream, (up, down) =>
      ctx.report({ outcome: "allowed", method: "CONNECT", host, port, address, bytesUp: up + buffered.length, bytesDown: down }),
    );
    client.resume();
    return true;
  };
  const onData = (d: Buffer) => {
    buffered = Buffer.concat([buffered, d]);
    decide();
  };
  const timer = setTimeout(() => {
    ctx.report({ outcome: "refused", method: "CONNECT", host, port, address, reason: "no TLS ClientHello within the time limit" });
    client.destroy();
    upstream.destroy();
  }, ctx.headTimeoutMs);
  if (!decide()) {
    client.on("data", onData);
    client.resume();
  }
}
