// Strict parsing of a proxy request head (RFC 9112 with none of its leniencies). Whatever a server
// behind the proxy might read differently from us is refused here: a bare CR or LF (a second request
// or header to a lenient server), NUL and other control characters, obs-fold continuation lines,
// header names that are not tokens, whitespace before the colon. The proxy then writes a request of
// its own from what was parsed; the client's bytes are never forwarded as they came.
import { canonicalHost } from "../../../lib/egress-rules.ts";

export const MAX_HEAD = 16 * 1024;

export interface Head {
  method: string;
  target: string;
  version: string;
  /** Lowercased names, values without surrounding whitespace, in order. */
  headers: [string, string][];
  rest: Buffer;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Field values: visible ASCII, space, tab and obs-text. No CR, LF, NUL or other control character.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const REQUEST_LINE = /^([A-Z]{1,16}) ([\x21-\x7e]{1,8192}) (HTTP\/1\.[01])$/;

/** The head, null when more bytes are needed, or the reason it is refused. */
export function parseHead(buf: Buffer): Head | null | { bad: string } {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) {
    if (buf.length > MAX_HEAD) return { bad: "request head too large" };
    // A head that can never be valid need not wait for its end (or for the timeout).
    const early = buf.subarray(0, Math.min(buf.length, MAX_HEAD)).toString("latin1");
    if (/[\u0000]/.test(early)) return { bad: "NUL in the request head" };
    return null;
  }
  if (end > MAX_HEAD) return { bad: "request head too large" };
  const lines = buf.subarray(0, end).toString("latin1").split("\r\n");
  const m = REQUEST_LINE.exec(lines[0] ?? "");
  if (!m) return { bad: "malformed request line" };
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line.includes("\n")) return { bad: "bare LF in a header line" };
    if (line.includes("\r")) return { bad: "bare CR in a header line" };
    if (line.includes("\u0000")) return { bad: "NUL in a header line" };
    if (line.startsWith(" ") || line.startsWith("\t")) return { bad: "obsolete line folding (a header line starting with whitespace)" };
    const i = line.indexOf(":");
    if (i <= 0) return { bad: "a header line without a name and colon" };
    const name = line.slice(0, i);
    if (!TOKEN.test(name)) return { bad: `header name ${JSON.stringify(name.slice(0, 64))} is not a token` };
    const value = line.slice(i + 1);
    if (!FIELD_VALUE.test(value)) return { bad: `a control character in the value of ${name}` };
    headers.push([name.toLowerCase(), value.replace(/^[ \t]+|[ \t]+$/g, "")]);
  }
  return { method: m[1]!, target: m[2]!, version: m[3]!, headers, rest: buf.subarray(end + 4) };
}

/** host[:port] from a CONNECT authority, URL authority or Host header; IPv6 in brackets. */
export function splitAuthority(authority: string, defaultPort: number | null): { host: string; port: number } | null {
  let hostPart: string;
  let portPart: string | undefined;
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    if (close < 0) return null;
    hostPart = authority.slice(0, close + 1);
    const tail = authority.slice(close + 1);
    if (tail && !tail.startsWith(":")) return null;
    portPart = tail ? tail.slice(1) : undefined;
  } else {
    const i = authority.lastIndexOf(":");
    hostPart = i >= 0 ? authority.slice(0, i) : authority;
    portPart = i >= 0 ? authority.slice(i + 1) : undefined;
  }
  let port: number;
  if (portPart === undefined) {
    if (defaultPort === null) return null;
    port = defaultPort;
  } else {
    if (!/^\d{1,5}$/.test(portPart)) return null;
    port = Number(portPart);
    if (port < 1 || port > 65535) return null;
  }
  const host = canonicalHost(hostPart);
  if (!host) return null;
  return { host, port };
}

/**
 * Framing and Host problems of a head whose target is host:port: more than one Host, a Host naming
 * something else, Content-Length with Transfer-Encoding, repeated or malformed Content-Length. A
 * reason, or null when the head is unambiguous.
 */
export function ambiguity(head: Head, host: string, port: number, defaultPort: number): string | null {
  const hosts = head.headers.filter(([k]) => k === "host");
  if (hosts.length > 1) return "more than one Host header";
  if (hosts.length === 1) {
    const h = splitAuthority(hosts[0]![1], defaultPort);
    if (!h || h.host !== host || h.port !== port) return `the Host header ${JSON.stringify(hosts[0]![1].slice(0, 100))} does not match ${host}:${port}`;
  }
  const lengths = head.headers.filter(([k]) => k === "content-length");
  const te = head.headers.some(([k]) => k === "transfer-encoding");
  if (te && lengths.length > 0) return "both Content-Length and Transfer-Encoding";
  if (lengths.length > 1) return "more than one Content-Length header";
  if (lengths.length === 1 && !/^\d{1,15}$/.test(lengths[0]![1])) return "bad Content-Length";
  return null;
}
