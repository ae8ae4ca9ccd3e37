// Replies leave through the gateway, never the sandbox, and only to where the operator said: a
// platform kind reaches its configured API base and nothing else (a URL on any other origin is refused
// before a connection is made, redirects are not followed); the generic webhook reaches the channel's
// callback URL only after the egress vetting of lib/vetted-post.ts against
// gateway.channels.kinds.webhook.callbackAllow, checked again at each send. A platform's 429 or 5xx
// is retried with backoff, honouring its retry_after (60 s at most), `sendRetries` times.
import type { GatewayConfig } from "../../config/schema.ts";
import { vettedPost, type Lookup } from "../../lib/vetted-post.ts";
import { RetryableSendError, type ChannelKind, type ChannelKindName, type ChannelSecrets, type PlatformApi, type ReplyTarget } from "./kinds/kind.ts";
import type { ChannelOptions } from "./channels.types.ts";

export const MAX_RETRY_WAIT_MS = 60_000;
const PLATFORM_TIMEOUT_MS = 70_000;

export interface OutboundDeps {
  config(): GatewayConfig;
  /** Name resolution for callback URLs (tests). */
  lookup?: Lookup;
}

/** fetch, but only to `base`'s origin, with no redirects and a timeout. */
function pinnedFetch(base: string): typeof fetch {
  const origin = new URL(base).origin;
  const f = (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.origin !== origin) return Promise.reject(new Error(`refused: ${url.origin} is not the platform's configured API base`));
    const timeout = AbortSignal.timeout(PLATFORM_TIMEOUT_MS);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    return fetch(input, { ...init, redirect: "error", signal });
  };
  return f as typeof fetch;
}

/** fetch-shaped POST through the egress vetting (the generic webhook's callback). */
function vettedFetch(deps: OutboundDeps): typeof fetch {
  const f = async (input: string | URL | Request, init?: RequestInit) => {
    const c = deps.config();
    const r = await vettedPost({
      url: String(input),
      allow: c.gateway.channels.kinds.webhook.callbackAllow,
      allowName: "gateway.channels.kinds.webhook.callbackAllow",
      allowPrivate: c.sandbox.egress?.allowPrivate,
      headers: (init?.headers ?? {}) as Record<string, string>,
      body: String(init?.body ?? ""),
      userAgent: "OpenClawMU-channels",
      lookup: deps.lookup,
    });
    if ("error" in r) throw new Error(r.error);
    const status = r.status >= 200 && r.status <= 599 ? r.status : 502;
    return new Response(null, { status, headers: r.retryAfter ? { "retry-after": r.retryAfter } : {} });
  };
  return f as unknown as typeof fetch;
}

/** What a kind may use to reach its platform, for one channel. */
export function platformApi(deps: OutboundDeps, kind: ChannelKindName, options: ChannelOptions): PlatformApi {
  if (kind === "webhook") {
    if (!options.callbackUrl) throw new Error("the channel has no callbackUrl: replies cannot be sent");
    return { base: options.callbackUrl, fetch: vettedFetch(deps) };
  }
  const base = deps.config().gateway.channels.kinds[kind].apiBase;
  return { base, fetch: pinnedFetch(base) };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error("stopped"));
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Error("stopped"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Sends, retrying a RetryableSendError `retries` times (its wait, else backoff 0.5 s·2^n with jitter, 60 s at most). */
export async function sendWithRetries(kind: ChannelKind, api: PlatformApi, secrets: ChannelSecrets, to: ReplyTarget, text: string, retries: number, signal: AbortSignal): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await kind.send(api, secrets, to, text);
      return;
    } catch (err) {
      if (!(err instanceof RetryableSendError) || attempt >= retries || signal.aborted) throw err;
      const backoff = 500 * 2 ** attempt * (0.5 + Math.random() / 2);
      await sleep(Math.min(MAX_RETRY_WAIT_MS, err.retryAfterMs ?? backoff), signal);
    }
  }
}
