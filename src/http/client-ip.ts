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
