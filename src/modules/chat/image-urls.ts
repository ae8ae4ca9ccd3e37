// Which image URLs may reach a provider. A provider (or a self-hosted backend in the operator's
// network) fetches an image URL itself, so a URL is a request the tenant makes from there. By default
// only inline `data:image/...;base64,` images pass. An operator may allow https:// images from named
// hosts (providers.<name>.imageUrls.allow, the egress entry syntax); such a URL is checked as the
// sandbox egress proxy checks a connection: canonical host on the list before any DNS lookup, then
// every address it resolves to must be public (no loopback, private, link-local, metadata or host
// address; no allowPrivate exceptions here). The provider resolves the name again when it fetches;
// the allow-list is what holds against a name that changes its answers.
import dns from "node:dns";
import net from "node:net";
import { AppError } from "../../core/errors.ts";
import { allows, canonicalHost, refusedAddress, type EgressRule } from "../../lib/egress-rules.ts";
import type { ImageRef } from "./chat.fields.ts";

export type Lookup = (host: string) => Promise<{ address: string }[]>;

const defaultLookup: Lookup = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

// The media types every provider kind accepts inline; base64 only (the Anthropic translation needs it).
const DATA_URL = /^data:image\/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/]*={0,2}$/;

const refuse = (param: string, message: string) => new AppError("INVALID_PARAMS", `${param}: ${message}`, { details: { param } });

export async function vetImageUrls(images: readonly ImageRef[], rules: readonly EgressRule[] | null, lookup: Lookup = defaultLookup): Promise<void> {
  for (const { param, url } of images) {
    if (url.startsWith("data:")) {
      if (!DATA_URL.test(url)) throw refuse(param, "a data: image must be data:image/(png|jpeg|gif|webp);base64,<base64>");
      continue;
    }
    if (!rules) throw refuse(param, "only inline data:image/...;base64 images are accepted (the operator has not allowed image hosts for this model)");
    await vetHttps(param, url, rules, lookup);
  }
}

async function vetHttps(param: string, raw: string, rules: readonly EgressRule[], lookup: Lookup): Promise<void> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse(param, "is not a valid URL");
  }
  if (url.protocol !== "https:") throw refuse(param, "only https:// image URLs (or inline data: images) are accepted");
  if (url.username || url.password) throw refuse(param, "an image URL may not carry credentials");
  const host = canonicalHost(url.hostname);
  if (!host) throw refuse(param, "does not name a valid host");
  const port = url.port ? Number(url.port) : 443;
  if (!allows(rules, host, port)) throw refuse(param, `${host}:${port} is not an image host the operator allows for this model`);
  let addresses: string[];
  if (net.isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host)).map((a) => a.address);
    } catch {
      throw refuse(param, `cannot resolve ${host}`);
    }
    if (addresses.length === 0) throw refuse(param, `cannot resolve ${host}`);
  }
  for (const a of addresses) {
    const why = refusedAddress(a, null);
    if (why) throw refuse(param, net.isIP(host) ? `${host} is a ${why}` : `${host} resolves to ${a}, a ${why}`);
  }
}
