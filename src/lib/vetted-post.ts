// One POST from the gateway to a URL a tenant chose (a cron job's webhook, a webhook channel's
// callback): the gateway itself reaching out for a tenant. The destination passes the one egress
// vetting (./egress-dial.ts: the operator's allow-list for that use, checked again at each send;
// public addresses only unless sandbox.egress.allowPrivate names them), and the connection goes to
// the address that was checked — no second lookup, so a rebinding name cannot swap it. Redirects are
// not followed; 10 s at most; at most 64 KiB of the answer is read.
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { allowListRefusal as dialRefusal, type Lookup, pinnedLookup, vetDestination } from "./egress-dial.ts";

export type { Lookup };
export const POST_TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface VettedPost {
  url: string;
  /** The operator's allow-list entries (host:port patterns) and its config path, for the refusal. */
  allow: readonly string[];
  allowName: string;
  /** How a refusal names the list (default "allow-list (<allowName>)"). */
  listName?: string;
  /** sandbox.egress.allowPrivate. */
  allowPrivate: readonly string[] | undefined;
  headers: Record<string, string>;
  body: string;
  userAgent: string;
  lookup?: Lookup;
}

const listName = (allowName: string) => `allow-list (${allowName})`;

/** Why the URL's host:port is not in the allow-list (checked before any DNS), or null. */
export function allowListRefusal(url: URL, allow: readonly string[], allowName: string): string | null {
  return dialRefusal(url, allow, listName(allowName));
}

/** The HTTP status of the answer, or `{ error }` (refused by the egress policy, no answer, …). Never throws. */
export async function vettedPost(p: VettedPost): Promise<{ status: number; retryAfter: string | null } | { error: string }> {
  let url: URL;
  try {
    url = new URL(p.url);
  } catch {
    return { error: "the URL is not absolute" };
  }
  const checked = await vetDestination(url, { allow: p.allow, listName: p.listName ?? listName(p.allowName), allowPrivate: p.allowPrivate, lookup: p.lookup });
  if ("error" in checked) return { error: checked.error };
  const vetted = checked.target;
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
        lookup: pinnedLookup(vetted),
        timeout: POST_TIMEOUT_MS,
        ...(url.protocol === "https:" && !net.isIP(vetted.host) ? { servername: vetted.host } : {}),
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
