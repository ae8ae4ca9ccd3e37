// One POST from the gateway to a URL a tenant chose (a cron job's webhook, a webhook channel's
// callback): the gateway itself reaching out for a tenant, so it passes the same egress rules as a
// sandbox. The host:port must be in the operator's allow-list for that use (checked again at each
// send: the list may have changed); every address the name resolves to must be public (private,
// loopback, link-local, metadata and the host's own addresses refused unless
// sandbox.egress.allowPrivate names them); and the connection goes to the address that was checked —
// no second lookup, so a rebinding name cannot swap it. Redirects are not followed; 10 s at most.
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { allows, buildAllowPrivate, canonicalHost, parseEgressEntry, refusedAddress } from "./egress-rules.ts";

export const POST_TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 64 * 1024;

export type Lookup = (host: string) => Promise<{ address: string; family: number }[]>;

export interface VettedPost {
  url: string;
  /** The operator's allow-list entries (host:port patterns) and its config path, for the refusal. */
  allow: readonly string[];
  allowName: string;
  /** sandbox.egress.allowPrivate. */
  allowPrivate: readonly string[] | undefined;
  headers: Record<string, string>;
  body: string;
  userAgent: string;
  lookup?: Lookup;
}

/** Why the URL's host:port is not in the allow-list (checked before any DNS), or null. */
export function allowListRefusal(url: URL, allow: readonly string[], allowName: string): string | null {
  const host = canonicalHost(url.hostname);
  if (!host) return `"${url.hostname}" is not a valid host`;
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  const rules = allow.map((e) => parseEgressEntry(e));
  if (!allows(rules, host, port)) return `${host}:${port} is not in the gateway's allow-list (${allowName})`;
  return null;
}

async function resolve(lookup: Lookup | undefined, host: string): Promise<{ address: string; family: number }[]> {
  if (net.isIP(host)) return [{ address: host, family: net.isIP(host) }];
  if (lookup) return lookup(host);
  return dns.promises.lookup(host, { all: true, verbatim: true });
}

/** The HTTP status of the answer, or `{ error }` (refused by the egress policy, no answer, …). Never throws. */
export async function vettedPost(p: VettedPost): Promise<{ status: number; retryAfter: string | null } | { error: string }> {
  let url: URL;
  try {
    url = new URL(p.url);
  } catch {
    return { error: "the URL is not absolute" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return { error: `the URL must be http or https, not ${url.protocol}` };
  const refusal = allowListRefusal(url, p.allow, p.allowName);
  if (refusal) return { error: `refused by the egress policy: ${refusal}` };
  const host = canonicalHost(url.hostname)!;
  let addrs: { address: string; family: number }[];
  try {
    addrs = await resolve(p.lookup, host);
  } catch (err) {
    return { error: `${host} does not resolve: ${(err as Error).message}`.slice(0, 500) };
  }
  if (addrs.length === 0) return { error: `${host} does not resolve` };
  const allowPrivate = buildAllowPrivate(p.allowPrivate);
  for (const a of addrs) {
    const why = refusedAddress(a.address, allowPrivate);
    if (why) return { error: `refused by the egress policy: ${host} resolves to ${a.address} (${why})` };
  }
  const vetted = addrs[0]!;
  const headers = { "content-type": "application/json", "content-length": String(Buffer.byteLength(p.body)), "user-agent": p.userAgent, ...p.headers };
  const lib = url.protocol === "https:" ? https : http;
  return new Promise((done) => {
    const req = lib.request(
      {
        host: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port || (url.protocol === "https:" ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        method: "POST",
        headers,
        // What was checked is what is dialled: the name is not looked up again.
        lookup: (_h: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => (opts?.all ? cb(null, [vetted]) : cb(null, vetted.address, vetted.family)),
        timeout: POST_TIMEOUT_MS,
        ...(url.protocol === "https:" && !net.isIP(host) ? { servername: host } : {}),
      } as http.RequestOptions,
      (res) => {
        let seen = 0;
        res.on("data", (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > MAX_RESPONSE_BYTES) res.destroy();
        });
        const status = res.statusCode ?? 0;
        const ra = res.headers["retry-after"];
        const settle = () => done({ status, retryAfter: typeof ra === "string" ? ra : null });
        res.on("end", settle);
        res.on("close", settle);
        res.on("error", settle);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${POST_TIMEOUT_MS / 1000} s`)), POST_TIMEOUT_MS);
    req.on("error", (e) => done({ error: `the request failed: ${e.message}`.slice(0, 500) }));
    req.on("close", () => clearTimeout(timer));
    req.end(p.body);
  });
}
