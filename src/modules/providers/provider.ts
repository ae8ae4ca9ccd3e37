// What the chat layer needs from a provider, and the plumbing every provider shares: one fetch with
// a watchdog (before the answer begins: firstByteTimeoutMs, then between chunks: idleTimeoutMs, both default timeoutMs; an optional connect probe),
// client-disconnect propagation, and mapping of upstream failures to the OpenAI error statuses.
import net from "node:net";
import { AppError, type ErrorCode } from "../../core/errors.ts";
import { parseSse } from "../../lib/sse.ts";
import type { TokenUsage } from "../usage/pricing.ts";
import type { GatewayConfig } from "../../config/schema.ts";

type ProviderConfig = GatewayConfig["providers"][string];

export type Json = Record<string, unknown>;

export interface StreamItem {
  /** An OpenAI chat.completion.chunk. */
  chunk?: Json;
  /** Usage as reported by the provider (may arrive more than once; the last one wins). */
  usage?: TokenUsage;
  /** Set on the provider's closing usage report; earlier ones (Anthropic's message_start) are partial. */
  final?: boolean;
}

/** The exact body sent upstream, serialized once: the admission bound is computed from these bytes. */
export interface UpstreamRequest {
  payload: string;
  /** Images in the payload, and a lower bound of the bytes their data takes in it. */
  images: number;
  imageBytes: number;
  /** The payload declares tools, functions or a response schema (providers add framing text for them). */
  structured: boolean;
  /** Tokens the provider adds around structures in the payload beyond their bytes (Anthropic's tool framing). */
  framingTokens: number;
  /** Request headers beyond the provider's own (vetted by the surface: the Messages API's anthropic-beta). */
  headers?: Record<string, string>;
  /** Kind "anthropic": the forced tool a chat `response_format` became (its input is the answer's text). */
  jsonTool?: string;
}

export interface CallContext {
  /** Owned by the caller: aborted with ClientGone when the client goes away; the watchdog aborts it too. */
  controller: AbortController;
  timeoutMs: number;
  /** The public model name, written into responses instead of the upstream one. */
  model: string;
  /** Reliable routing's per-phase limits (router.ts sets them from the provider's config; default timeoutMs). */
  firstByteTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Without an answer by then, the provider's host is probed: one that accepts no connection fails the attempt. */
  connectTimeoutMs?: number;
  /** Told which deployment served the call, once one has (the ledger's `deployment`). */
  served?: (deployment: string) => void;
}

export interface ChatProvider {
  /** The request as this provider will receive it (translated, serialized); nothing is sent. */
  prepare(body: Json, stream: boolean): UpstreamRequest;
  complete(req: UpstreamRequest, ctx: CallContext): Promise<{ body: Json; usage: TokenUsage | null }>;
  /** Resolves once the provider has accepted the request; errors before that are thrown here. */
  stream(req: UpstreamRequest, ctx: CallContext): Promise<AsyncIterable<StreamItem>>;
  /** Kind "anthropic": the Messages API spoken natively (the /v1/messages surface passes vetted bodies through). */
  messages?: NativeMessages;
  /** Kind "openai": any other OpenAI-wire POST (the Responses API, embeddings), routed like chat. */
  post?: RawPost;
}

/**
 * A prepared payload POSTed as is to `<baseUrl>/<path>` of an OpenAI-wire provider, with the
 * deployment's credentials; the answer comes back in the provider's own shapes. Through a model's
 * router (router.ts) it gets that model's deployments, key pools, retries, breakers, metrics and trace
 * like chat; `serves` leaves out deployments whose provider does not serve the path.
 */
export interface RawPost {
  /** The provider's JSON answer. */
  complete(path: string, req: UpstreamRequest, ctx: CallContext, serves?: (cfg: ProviderConfig) => boolean): Promise<{ body: Json }>;
  /** Items whose `chunk` is one JSON stream event, as the provider sent it. */
  stream(path: string, req: UpstreamRequest, ctx: CallContext, serves?: (cfg: ProviderConfig) => boolean): Promise<AsyncIterable<StreamItem>>;
}

/** A Messages API body sent as is; answers and stream events come back in Anthropic's own shapes. */
export interface NativeMessages {
  /** The message object (its `model` set to the public name) and its usage. */
  complete(req: UpstreamRequest, ctx: CallContext): Promise<{ body: Json; usage: TokenUsage | null }>;
  /** Items whose `chunk` is one Messages stream event (`type` included), usage tracked; `final` once message_stop came. */
  stream(req: UpstreamRequest, ctx: CallContext): Promise<AsyncIterable<StreamItem>>;
  /** POST /v1/messages/count_tokens with this payload: the provider's answer. */
  countTokens(req: UpstreamRequest, ctx: CallContext): Promise<Json>;
}

/**
 * Counts the images of an upstream body: `isImage` recognises an image part among a message's content
 * parts and returns its data (a URL or base64 string), whose bytes a provider does not read as text.
 */
export function countImages(messages: unknown, isImage: (part: Json) => string | null): { images: number; imageBytes: number } {
  let images = 0;
  let imageBytes = 0;
  if (!Array.isArray(messages)) return { images, imageBytes };
  for (const m of messages as Json[]) {
    if (!Array.isArray(m?.content)) continue;
    for (const part of m.content as Json[]) {
      const data = part && typeof part === "object" ? isImage(part) : null;
      if (data === null) continue;
      images++;
      // The serialized string is at least its UTF-8 size plus two quotes (escapes only add).
      imageBytes += Buffer.byteLength(data) + 2;
    }
  }
  return { images, imageBytes };
}

/** The client went away: not an error to report, but the request must stop and be settled. */
export class ClientGone extends Error {
  constructor() {
    super("client disconnected");
  }
}

class UpstreamSilent extends Error {
  constructor(readonly ms: number) {
    super("provider silent");
  }
}
class UpstreamUnreachable extends Error {
  constructor(readonly ms: number) {
    super("provider unreachable");
  }
}

export function providerError(code: ErrorCode, message: string, opts: { upstreamStatus?: number; retryAfter?: string; param?: string; connect?: boolean } = {}): AppError {
  return new AppError(code, message, {
    // `connect`: the request never reached the provider (the router may retry it at no risk).
    details: { upstreamStatus: opts.upstreamStatus, param: opts.param, ...(opts.connect ? { connect: true } : {}) },
    headers: opts.retryAfter ? { "retry-after": opts.retryAfter } : undefined,
  });
}

export interface Upstream {
  response: Response;
  /** The whole body under a single watchdog timer (for bodies of known size). */
  text(): Promise<string>;
  /** Reads the body with the idle watchdog; throws ClientGone or a provider AppError. */
  chunks(): AsyncGenerator<Uint8Array>;
  abort(): void;
}

function connectionMessage(provider: string, err: unknown): string {
  const code = (err as { code?: string })?.code;
  return `could not reach provider "${provider}"${code ? ` (${code})` : ""}`;
}

export async function upstreamFetch(provider: string, url: string, init: RequestInit, ctx: CallContext): Promise<Upstream> {
  const ac = ctx.controller;
  if (ac.signal.aborted) throw new ClientGone();
  const firstByteMs = ctx.firstByteTimeoutMs ?? ctx.timeoutMs;
  const idleMs = ctx.idleTimeoutMs ?? ctx.timeoutMs;
  let timer: Timer | null = null;
  let probe: Timer | null = null;
  const arm = (ms: number) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => ac.abort(new UpstreamSilent(ms)), ms);
  };
  const disarm = () => {
    if (timer) clearTimeout(timer);
    if (probe) clearTimeout(probe);
    timer = probe = null;
  };
  const failure = (err: unknown): Error => {
    const reason = ac.signal.reason;
    if (reason instanceof ClientGone) return reason;
    if (reason instanceof UpstreamSilent) return providerError("UPSTREAM_TIMEOUT", `provider "${provider}" sent nothing for ${Math.round(reason.ms / 1000)}s`);
    if (reason instanceof UpstreamUnreachable) return providerError("UPSTREAM_ERROR", `could not reach provider "${provider}" (no connection within ${reason.ms}ms)`, { connect: true });
    if (err instanceof AppError) return err;
    return providerError("UPSTREAM_ERROR", connectionMessage(provider, err), { connect: true });
  };
  const done = disarm;

  arm(firstByteMs);
  const connectMs = ctx.connectTimeoutMs;
  // fetch does not tell when its connection is up; only a call still unanswered after connectMs pays
  // for a probe connection, and only a host that accepts none within connectMs fails the attempt.
  if (connectMs !== undefined && connectMs < firstByteMs) {
    probe = setTimeout(() => {
      probe = null;
      void canConnect(url, connectMs).then((ok) => {
        if (!ok && timer) ac.abort(new UpstreamUnreachable(connectMs));
      });
    }, connectMs);
  }
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: ac.signal });
  } catch (err) {
    done();
    throw failure(err);
  }
  disarm();
  return {
    response,
    async text() {
      arm(idleMs);
      try {
        return await response.text();
      } catch (err) {
        throw failure(err);
      } finally {
        done();
      }
    },
    abort: () => {
      done();
      ac.abort(new ClientGone());
    },
    async *chunks() {
      if (!response.body) {
        done();
        return;
      }
      const reader = response.body.getReader();
      let first = true;
      try {
        for (;;) {
          // The stream's first event is part of the answer beginning; silences after it are idle time.
          arm(first ? firstByteMs : idleMs);
          first = false;
          let r: Awaited<ReturnType<typeof reader.read>>;
          try {
            r = await reader.read();
          } catch (err) {
            throw failure(err);
          }
          disarm();
          if (r.done) return;
          yield r.value;
        }
      } finally {
        done();
        reader.releaseLock();
      }
    },
  };
}

/** A provider's JSON stream events, parsed (an event that is not JSON is the provider's failure). */
export async function* jsonEvents(name: string, up: Upstream): AsyncGenerator<{ type: string; data: Json }> {
  for await (const ev of parseSse(bodyStream(up))) {
    let data: Json;
    try {
      data = JSON.parse(ev.data) as Json;
    } catch {
      throw providerError("UPSTREAM_ERROR", `provider "${name}" sent a stream event that is not JSON`);
    }
    yield { type: ev.event ?? String(data.type), data };
  }
}

/** A provider's whole (capped) JSON answer (one that is not JSON is the provider's failure). */
export async function readJson(name: string, up: Upstream): Promise<Json> {
  const text = await readAll(up);
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw providerError("UPSTREAM_ERROR", `provider "${name}" answered with something that is not JSON`);
  }
}

/** Reads a whole (capped) body as text through the watchdog. */
export async function readAll(up: Upstream, cap = 64 * 1024 * 1024): Promise<string> {
  const declared = Number(up.response.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared)) {
    // A sized body (the common case) is read in one go under one timer.
    if (declared > cap) {
      up.abort();
      throw providerError("UPSTREAM_ERROR", "provider response is larger than the gateway accepts");
    }
    return up.text();
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const c of up.chunks()) {
    size += c.byteLength;
    if (size > cap) {
      up.abort();
      throw providerError("UPSTREAM_ERROR", "provider response is larger than the gateway accepts");
    }
    parts.push(c);
  }
  return Buffer.concat(parts).toString("utf8");
}

/** A ReadableStream view of the watchdog-guarded body (for the SSE parser). */
export function bodyStream(up: Upstream): ReadableStream<Uint8Array> {
  const it = up.chunks();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await it.next();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        controller.error(err);
      }
    },
    cancel() {
      up.abort();
    },
  });
}

/** Maps a non-2xx provider answer to the status the tenant sees, keeping the provider's message. */
export async function upstreamFailure(provider: string, up: Upstream, messageOf: (body: unknown) => string | undefined): Promise<AppError> {
  let text = "";
  try {
    text = (await readAll(up, 64 * 1024)).slice(0, 4096);
  } catch {
    text = "";
  }
  let detail: string | undefined;
  try {
    detail = messageOf(JSON.parse(text));
  } catch {
    detail = text.trim() || undefined;
  }
  return failureFor(provider, up.response.status, detail, up.response.headers.get("retry-after") ?? undefined);
}

/** The status the tenant sees for a provider's error status (and its message), whatever the transport. */
export function failureFor(provider: string, status: number, detail: string | undefined, retryAfter: string | undefined): AppError {
  const said = detail ? `: ${detail.slice(0, 300)}` : "";
  if (status === 400 || status === 413 || status === 422) {
    return new AppError(status === 413 ? "PAYLOAD_TOO_LARGE" : "INVALID_PARAMS", `provider "${provider}" rejected the request${said}`, { details: { upstreamStatus: status } });
  }
  if (status === 401 || status === 403) return providerError("UPSTREAM_ERROR", `provider "${provider}" refused the gateway's credentials (${status})`, { upstreamStatus: status });
  if (status === 408 || status === 504) return providerError("UPSTREAM_TIMEOUT", `provider "${provider}" timed out (${status})${said}`, { upstreamStatus: status });
  if (status === 429) return providerError("RATE_LIMITED", `provider "${provider}" is rate limiting the gateway${said}`, { upstreamStatus: status, retryAfter: retryAfter ?? "1" });
  if (status === 503 || status === 529) return providerError("UNAVAILABLE", `provider "${provider}" is overloaded (${status})${said}`, { upstreamStatus: status, retryAfter });
  return providerError("UPSTREAM_ERROR", `provider "${provider}" returned ${status}${said}`, { upstreamStatus: status });
}

/** Whether the URL's host accepts a TCP connection within `ms` (the connect timeout's probe). */
function canConnect(url: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return resolve(true);
    }
    const port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
    const sock = net.connect({ host: u.hostname.replace(/^\[|\]$/g, ""), port });
    const end = (ok: boolean) => {
      clearTimeout(t);
      sock.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => end(false), ms);
    sock.once("connect", () => end(true));
    sock.once("error", () => end(false));
  });
}
