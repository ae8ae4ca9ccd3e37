// The client's address: the socket peer, or — only when the peer is a trusted proxy — the rightmost
// X-Forwarded-For entry that is not itself a trusted proxy (entries further left are client-forgeable).
import net from "node:net";

export function buildTrustList(entries: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  for (const e of entries) {
    const [ip, bits] = e.split("/");
    const family = net.isIP(ip!) === 6 ? "ipv6" : "ipv4";
    if (bits !== undefined) list.addSubnet(ip!, Number(bits), family);
    else list.addAddress(ip!, family);
  }
  return list;
}

function normalise(ip: string): string {
  const v = ip.trim();
  if (v.startsWith("::ffff:") && net.isIPv4(v.slice(7))) return v.slice(7);
  return v;
}

function isTrusted(list: net.BlockList, ip: string): boolean {
  const family = net.isIP(ip);
  if (family === 0) return false;
  return list.check(ip, family === 6 ? "ipv6" : "ipv4");
}

/** Whether the socket peer is one of gateway.trustedProxies (its X-Forwarded-* headers are believed). */
export function fromTrustedProxy(peer: string | undefined, trust: net.BlockList | null): boolean {
  return trust !== null && peer !== undefined && isTrusted(trust, normalise(peer));
}

export function resolveClientIp(peer: string | undefined, forwardedFor: string | null, trust: net.BlockList | null): string {
  const socketIp = normalise(peer ?? "unknown");
  if (!trust || !forwardedFor || !isTrusted(trust, socketIp)) return socketIp;
  const hops = forwardedFor.split(",").map(normalise).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (net.isIP(hop) === 0) return socketIp; // garbage in the header: believe only the socket
    if (!isTrusted(trust, hop)) return hop;
  }
  return hops[0] ?? socketIp;
}

/** The eight 16-bit words of an IPv6 address (zone dropped, an IPv4 tail converted), or null. */
export function ipv6Words(ip: string): number[] | null {
  let s = ip.split("%", 1)[0]!;
  if (!net.isIPv6(s)) return null;
  const v4 = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const [a, b, c, d] = v4.slice(2).map(Number) as [number, number, number, number];
    s = `${v4[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = s.split("::");
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(":") : [];
  const fill = halves.length > 1 ? 8 - head.length - tail.length : 0;
  const words = [...head, ...Array<string>(Math.max(0, fill)).fill("0"), ...tail].map((w) => parseInt(w, 16));
  return words.length === 8 && words.every((w) => w >= 0 && w <= 0xffff) ? words : null;
}

/**
 * The source a client address counts as for throttling and audit bounds: an IPv4 address itself; an
 * IPv6 address's network of `v6Bits` (a /64 is what one subscriber or host usually gets, so its 2^64
 * addresses are one source, not 2^64 fresh budgets).
 */
export function sourceNetwork(ip: string, v6Bits: number): string {
  if (net.isIPv4(ip)) return ip;
  const words = ipv6Words(ip);
  if (!words) return ip;
  const masked = words.map((w, i) => {
    const keep = Math.max(0, Math.min(16, v6Bits - i * 16));
    return keep === 0 ? 0 : w & ((0xffff << (16 - keep)) & 0xffff);
  });
  const whole = Math.ceil(v6Bits / 16);
  const shown = masked.slice(0, whole).map((w) => w.toString(16));
  return `${shown.join(":")}${whole < 8 ? "::" : ""}/${v6Bits}`;
}
