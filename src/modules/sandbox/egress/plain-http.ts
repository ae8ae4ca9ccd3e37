// Plain http:// through the egress proxy: the absolute URL checked, the upstream opened
// (upstream.ts), and one request of our own written from the parsed head — never the client's bytes
// as they came.
import net from "node:net";
import { ambiguity, splitAuthority, type Head } from "./http-head.ts";
import { openUpstream, type ProxyContext } from "./upstream.ts";

const HOP_HEADERS = new Set(["proxy-connection", "proxy-authorization", "proxy-authenticate", "connection", "keep-alive", "te", "trailer", "upgrade", "host"]);

export async function handleHttp(ctx: ProxyContext, client: net.Socket, head: Head) {
  let url: URL;
  try {
    url = new URL(head.target);
  } catch {
    ctx.report({ outcome: "refused", method: "HTTP", host: head.target.slice(0, 200), port: 0, reason: "not an absolute http:// URL" });
    return ctx.reply(client, 400, "Bad Request", "a proxy request needs an absolute http:// URL (use CONNECT for https)");
  }
  if (url.protocol !== "http:" || url.username || url.password) {
    ctx.report({ outcome: "refused", method: "HTTP", host: url.hostname, port: 0, reason: "only plain http:// URLs without credentials are proxied" });
    return ctx.reply(client, 400, "Bad Request", "only http:// URLs without credentials; use CONNECT for https");
  }
  const authority = head.target.slice(head.target.indexOf("//") + 2).split(/[/?#]/)[0]!;
  const target = splitAuthority(authority, 80);
  if (!target) {
    ctx.report({ outcome: "refused", method: "HTTP", host: authority.slice(0, 200), port: 0, reason: "malformed host" });
    return ctx.reply(client, 400, "Bad Request", "malformed host");
  }
  const { host, port } = target;
  const ambiguous = ambiguity(head, host, port, 80);
  if (ambiguous) {
    ctx.report({ outcome: "refused", method: "HTTP", host, port, reason: ambiguous });
    return ctx.reply(client, 400, "Bad Request", ambiguous);
  }
  if (head.headers.some(([k]) => k === "transfer-encoding")) {
    ctx.report({ outcome: "refused", method: "HTTP", host, port, reason: "chunked request bodies are not proxied" });
    return ctx.reply(client, 411, "Length Required", "send a Content-Length (chunked request bodies are not proxied)");
  }
  const lengthHeader = head.headers.find(([k]) => k === "content-length")?.[1];
  const bodyLength = lengthHeader === undefined ? 0 : Number(lengthHeader);
  const opened = await openUpstream(ctx, client, "HTTP", host, port);
  if (!opened) return;
  const { upstream, address } = opened;
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
  ctx.sockets.add(upstream);
  upstream.setTimeout(ctx.idleTimeoutMs, () => upstream.destroy());
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
    ctx.sockets.delete(upstream);
    ctx.report({ outcome: "allowed", method: "HTTP", host, port, address, bytesUp: up, bytesDown: down });
  };
  upstream.on("end", () => client.end());
  upstream.on("close", () => {
    client.end();
    finish();
  });
  upstream.on("error", () => client.destroy());
  client.on("close", () => upstream.destroy());
}
