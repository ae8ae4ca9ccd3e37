// What a tenant may send at pairing: a name and the options common to every kind, checked here with
// errors that name the field (the credentials are the kind's to check).
import { AppError } from "../../core/errors.ts";
import { allowListRefusal } from "../../lib/vetted-post.ts";
import type { ChannelKindName } from "./kinds/kind.ts";
import type { ChannelOptions } from "./channels.types.ts";

const bad = (field: string, why: string) => new AppError("INVALID_PARAMS", `${field} ${why}`);
const AGENT = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const KNOWN = new Set(["agentId", "dmPolicy", "allowFrom", "mode", "callbackUrl"]);

export function checkName(name: unknown, kind: string): string {
  if (name === undefined) return kind;
  if (typeof name !== "string" || name.trim().length === 0 || name.length > 100) throw bad("name", "must be 1-100 characters");
  return name.trim();
}

export function checkOptions(kind: ChannelKindName, raw: unknown, callbackAllow: readonly string[]): ChannelOptions {
  if (raw === undefined) return {};
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw bad("options", "must be an object");
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) throw bad(`options.${k}`, "is not a channel option (agentId, dmPolicy, allowFrom, mode, callbackUrl)");
  const out: ChannelOptions = {};
  if (o.agentId !== undefined) {
    if (typeof o.agentId !== "string" || !AGENT.test(o.agentId)) throw bad("options.agentId", "must be an agent id (a-z, 0-9, _ and -, 64 at most)");
    out.agentId = o.agentId;
  }
  if (o.dmPolicy !== undefined) {
    if (o.dmPolicy !== "pairing" && o.dmPolicy !== "allowlist" && o.dmPolicy !== "open") throw bad("options.dmPolicy", 'must be "pairing", "allowlist" or "open"');
    out.dmPolicy = o.dmPolicy;
  }
  if (o.allowFrom !== undefined) {
    if (!Array.isArray(o.allowFrom) || o.allowFrom.length > 1000 || o.allowFrom.some((x) => typeof x !== "string" || x.length === 0 || x.length > 200)) throw bad("options.allowFrom", "must be a list of at most 1000 ids (1-200 characters each)");
    out.allowFrom = [...new Set(o.allowFrom as string[])];
  }
  if (o.mode !== undefined) {
    if (kind !== "telegram") throw bad("options.mode", "applies to telegram only");
    if (o.mode !== "webhook" && o.mode !== "polling") throw bad("options.mode", 'must be "webhook" or "polling"');
    out.mode = o.mode;
  }
  if (o.callbackUrl !== undefined) {
    if (kind !== "webhook") throw bad("options.callbackUrl", "applies to the webhook kind only");
    let url: URL;
    try {
      url = new URL(String(o.callbackUrl));
    } catch {
      throw bad("options.callbackUrl", "is not an absolute URL");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") throw bad("options.callbackUrl", `must be http or https, not ${url.protocol}`);
    if (url.username || url.password) throw bad("options.callbackUrl", "must not carry credentials");
    const why = allowListRefusal(url, callbackAllow, "gateway.channels.kinds.webhook.callbackAllow");
    if (why) throw bad("options.callbackUrl", why);
    out.callbackUrl = url.href;
  }
  return out;
}
