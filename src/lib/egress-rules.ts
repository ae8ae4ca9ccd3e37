// Egress policy: which host:port a sandbox run may reach, decided on the name the client asked for
// before any DNS lookup, then on every address that name resolves to. See
// ../shared/reference/sandbox.md §7 for the bypasses each check answers.
import net from "node:net";
import os from "node:os";

export interface EgressRule {
  /** Canonical host: a lowercase name without trailing dot, or an IP literal. */
  host: string;
  /** `*.suffix`: matches strict subdomains of `host` only. */
  wildcard: boolean;
  /** A port, or "*" for any. */
  port: number | "*";
  ip: boolean;
  source: string;
}

/**
 * Parses an allow-list entry: `host:port`, `*.suffix:port` (at least two labels after `*.`), or an IP
 * literal (`1.2.3.4:443`, `[::1]:443`). The port is required (or `*`). Throws with the reason.
 */
export function parseEgressEntry(entry: string): EgressRule {
  if (typeof entry !== "string" || entry.length === 0 || entry.length > 300) throw new Error("must be a non-empty host:port string");
  if (/[\s\u0000-\u001f\u007f%@/\\?#]/.test(entry)) throw new Error(`"${entry}" contains a character not allowed in host:port`);
  let hostPart: string;
  let portPart: string;
  if (entry.startsWith("[")) {
    const close = entry.indexOf("]");
    if (close < 0 || entry[close + 1] !== ":") throw new Error(`"${entry}" must be [ipv6]:port`);
    hostPart = entry.slice(0, close + 1);
    portPart = entry.slice(close + 2);
  } else {
    const i = entry.lastIndexOf(":");
    if (i <= 0) throw new Error(`"${entry}" needs a port (host:port, or host:* for any port)`);
    hostPart = entry.slice(0, i);
    portPart = entry.slice(i + 1);
  }
  let port: number | "*";
  if (portPart === "*") port = "*";
  else if (/^\d{1,5}$/.test(portPart) && Number(portPart) >= 1 && Number(portPart) <= 65535) port = Number(portPart);
  else throw new Error(`"${entry}" has an invalid port (1-65535 or *)`);
  let wildcard = false;
  if (hostPart.startsWith("*.")) {
    wildcard = true;
    hostPart = hostPart.slice(2);
  }
  const host = canonicalHost(hostPart);
  if (!host) throw new Error(`"${entry}" does not name a valid host`);
  const ip = net.isIP(host) !== 0;
  if (wildcard && ip) throw new Error(`"${entry}": wildcards never apply to IP addresses`);
  if (wildcard && host.split(".").length < 2) throw new Error(`"${entry}": a wildcard needs at least two labels after "*." (e.g. *.example.com)`);
  if (!wildcard && host.includes("*")) throw new Error(`"${entry}": "*" is only allowed as a leading "*." label`);
  return { host, wildcard, port, ip, source: entry };
}

/**
 * Canonicalises a host the way a resolver would see it (WHATWG URL host parsing): lowercase,
 * IDNA, IPv4 in every spelling (`127.1`, `2130706433`, `0x7f.0.0.1`) to dotted quad, IPv6 compressed,
 * IPv4-mapped IPv6 to IPv4, one trailing dot dropped. Returns null for anything that is not a host:
 * zone ids, userinfo, paths, control characters, empty labels.
 */
export function canonicalHost(raw: string): string | null {
  if (!raw || raw.length > 255) return null;
  if (/[\s\u0000-\u001f\u007f%@/\\?#]/.test(raw)) return null;
  let parsed: URL;
  try {
    parsed = new URL(`http://${raw}/`);
  } catch {
    return null;
  }
  if (parsed.username || parsed.password || parsed.port || parsed.pathname !== "/") return null;
  let host = parsed.hostname;
  if (host.startsWith("[") && host.endsWith("]")) {
    host = host.slice(1, -1);
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
    if (mapped) {
      const hi = parseInt(mapped[1]!, 16);
      const lo = parseInt(mapped[2]!, 16);
      return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
    }
    return net.isIPv6(host) ? host : null;
  }
  if (raw.includes(":")) return null; // a port, or an IPv6 address without brackets
  if (host.endsWith(".")) host = host.slice(0, -1);
  if (!host || host.includes("..") || host.startsWith(".")) return null;
  if (net.isIPv4(host)) return host;
  if (!/^[a-z0-9_.-]+$/.test(host)) return null;
  if (host.split(".").some((l) => l.length === 0 || l.length > 63)) return null;
  return host;
}

/** True when some rule allows `host` (already canonical) on `port`. IP literals match only verbatim. */
export function allows(rules: readonly EgressRule[], host: string, port: number): EgressRule | null {
  const isIp = net.isIP(host) !== 0;
  for (const r of rules) {
    if (r.port !== "*" && r.port !== port) continue;
    if (r.host === host && !r.wildcard) return r;
    if (r.wildcard && !isIp && host.endsWith(`.${r.host}`)) return r;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Addresses a name may not resolve to (unless the admin lists them in sandbox.egress.allowPrivate).

const DENIED_V4 = [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16],
  ["172.16.0.0", 12], ["192.0.0.0", 24], ["192.0.2.0", 24], ["192.88.99.0", 24], ["192.168.0.0", 16],
  ["198.18.0.0", 15], ["198.51.100.0", 24], ["203.0.113.0", 24], ["224.0.0.0", 4], ["240.0.0.0", 4],
  // Cloud metadata endpoints outside the link-local range.
  ["168.63.129.16", 32], ["100.100.100.200", 32],
] as const;

const DENIED_V6 = [
  ["::", 128], ["::1", 128], ["::", 96], ["::ffff:0:0", 96], ["64:ff9b::", 96], ["64:ff9b:1::", 48],
  ["100::", 64], ["2001::", 32], ["2001:db8::", 32], ["2002::", 16], ["fc00::", 7], ["fe80::", 10],
  ["fec0::", 10], ["ff00::", 8],
] as const;

// One list per family: a BlockList also matches IPv4 addresses against IPv4-mapped IPv6 rules, and
// the IPv6 list holds ::/96 and ::ffff:0:0/96.
function deniedLists(): { v4: net.BlockList; v6: net.BlockList } {
  const v4 = new net.BlockList();
  const v6 = new net.BlockList();
  for (const [ip, bits] of DENIED_V4) v4.addSubnet(ip, bits, "ipv4");
  for (const [ip, bits] of DENIED_V6) v6.addSubnet(ip, bits, "ipv6");
  // Every address of this host's own interfaces: a service on 0.0.0.0 answers on all of them.
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      const ip = a.address.split("%")[0]!;
      if (net.isIPv4(ip)) v4.addAddress(ip, "ipv4");
      else if (net.isIPv6(ip)) v6.addAddress(ip, "ipv6");
    }
  }
  return { v4, v6 };
}

let denied: { v4: net.BlockList; v6: net.BlockList } | null = null;

/** Why `ip` may not be dialled, or null when it may. `allowPrivate` lists the admin's exceptions. */
export function refusedAddress(ip: string, allowPrivate: net.BlockList | null): string | null {
  const family = net.isIP(ip);
  if (family === 0) return "not an IP address";
  const type = family === 6 ? "ipv6" : "ipv4";
  if (allowPrivate?.check(ip, type)) return null;
  denied ??= deniedLists();
  if ((family === 4 ? denied.v4 : denied.v6).check(ip, type)) return "private, loopback, link-local, metadata or host address";
  return null;
}

export function buildAllowPrivate(entries: readonly string[] | undefined): net.BlockList | null {
  if (!entries || entries.length === 0) return null;
  const list = new net.BlockList();
  for (const e of entries) {
    const [ip, bits] = e.split("/");
    const type = net.isIPv6(ip!) ? "ipv6" : "ipv4";
    if (bits !== undefined) list.addSubnet(ip!, Number(bits), type);
    else list.addAddress(ip!, type);
  }
  return list;
}
