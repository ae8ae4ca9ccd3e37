// The gateway reaching out for a tenant (a cron webhook, a remote MCP server): one vetting for every
// such destination. The URL's host:port must be in the admin's allow-list for that purpose (decided on
// the name before any lookup); every address the name resolves to must be public (private, loopback,
// link-local, metadata and the host's own addresses refused unless sandbox.egress.allowPrivate names
// them); and the caller dials the address that was checked — never the name again — so a name that
// rebinds between the check and the connection cannot swap it. `pinnedLookup` is that dial's lookup.
import dns from "node:dns";
import net from "node:net";
import { allows, buildAllowPrivate, canonicalHost, parseEgressEntry, refusedAddress } from "./egress-rules.ts";

export type Lookup = (host: string) => Promise<{ address: string; family: number }[]>;

export interface VettedTarget {
  /** Canonical host the URL names (what TLS is checked against). */
  host: string;
  port: number;
  /** The checked address, and the only one dialled. */
  address: string;
  family: number;
}

/** Why `url`'s host:port is not in `allow` (named `listName` in the message), or null. No DNS. */
export function allowListRefusal(url: URL, allow: readonly string[], listName: string): string | null {
  const host = canonicalHost(url.hostname);
  if (!host) return `"${url.hostname}" is not a valid host`;
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  if (!allows(allow.map((e) => parseEgressEntry(e)), host, port)) return `${host}:${port} is not in the gateway's ${listName}`;
  return null;
}

async function resolve(host: string, lookup: Lookup | undefined): Promise<{ address: string; family: number }[]> {
  if (net.isIP(host)) return [{ address: host, family: net.isIP(host) }];
  if (lookup) return lookup(host);
  return dns.promises.lookup(host, { all: true, verbatim: true });
}

/**
 * Vets a destination: the allow-list, then every resolved address. Resolves to the target to dial,
 * or to `{ error }` saying why it is refused ("refused by the egress policy: …").
 */
export async function vetDestination(url: URL, opts: { allow: readonly string[]; listName: string; allowPrivate: readonly string[] | undefined; lookup?: Lookup }): Promise<{ target: VettedTarget } | { error: string }> {
  if (url.protocol !== "https:" && url.protocol !== "http:") return { error: `refused by the egress policy: ${url.protocol} is not http or https` };
  if (url.username || url.password) return { error: "refused by the egress policy: the URL carries credentials" };
  const refusal = allowListRefusal(url, opts.allow, opts.listName);
  if (refusal) return { error: `refused by the egress policy: ${refusal}` };
  const host = canonicalHost(url.hostname)!;
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  let addrs: { address: string; family: number }[];
  try {
    addrs = await resolve(host, opts.lookup);
  } catch (err) {
    return { error: `${host} does not resolve: ${(err as Error).message}`.slice(0, 300) };
  }
  if (addrs.length === 0) return { error: `${host} does not resolve` };
  const allowPrivate = buildAllowPrivate(opts.allowPrivate);
  for (const a of addrs) {
    const why = refusedAddress(a.address, allowPrivate);
    if (why) return { error: `refused by the egress policy: ${host} resolves to ${a.address} (${why})` };
  }
  const vetted = addrs[0]!;
  return { target: { host, port, address: vetted.address, family: vetted.family } };
}

/** A node:http(s) `lookup` that answers only the vetted address (what was checked is what is dialled). */
export function pinnedLookup(t: VettedTarget) {
  return (_h: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => (opts?.all ? cb(null, [{ address: t.address, family: t.family }]) : cb(null, t.address, t.family));
}
