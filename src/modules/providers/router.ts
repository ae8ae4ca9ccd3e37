// Reliable routing (README "Reliable routing"): a model's deployments — its provider/upstreamModel,
// then its fallbacks — behind one ChatProvider, so every surface that calls a provider gets it. An
// attempt that fails before the first byte (connection error, timeout, 429, 5xx; for a stream, also a
// failure before its first event) is retried on the same deployment with jittered exponential backoff,
// then the next deployment is tried. A request the provider refused as invalid is returned at once. A
// circuit breaker per deployment skips one that keeps failing; a key pool spreads attempts over keys.
// Once a stream has yielded its first event nothing is retried: the client has bytes; a later failure
// is logged and counted as one (never as a success).
import { AppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { BreakerPolicy } from "./breaker.ts";
import { Breaker } from "./breaker.ts";
import type { KeyPool, PoolKey } from "./key-pool.ts";
import { ClientGone, type CallContext, type ChatProvider, type Json, type NativeMessages, type RawPost, type StreamItem, type UpstreamRequest } from "./provider.ts";
import type { AttemptSpan, RouteSpan, Telemetry } from "../telemetry/telemetry-hook.ts";
import type { GatewayConfig } from "../../config/schema.ts";

type ProviderConfig = GatewayConfig["providers"][string];

export interface Deployment {
  /** `provider/upstreamModel`, with `#key` when the deployment pins a key: the ledger's `deployment`. */
  label: string;
  providerName: string;
  upstreamModel: string;
  cfg: ProviderConfig;
  pinnedKey?: string;
}

export interface RoutingPolicy {
  retries: number;
  backoffMs: number;
  maxBackoffMs: number;
  breaker: BreakerPolicy;
}

export type AttemptOutcome = "ok" | "error" | "timeout" | "rate_limited" | "unavailable" | "refused" | "invalid" | "client_closed" | "midstream_error" | "circuit_open";

export interface RoutingMetrics {
  attempt(labels: { provider: string; model: string; deployment: string; key: string; outcome: AttemptOutcome }): void;
  fallback(model: string): void;
  breakerOpened(model: string, deployment: string): void;
}

export interface RouterDeps {
  now(): number;
  log: Logger;
  policy(): RoutingPolicy;
  /** A provider client for the deployment's provider, with `key`'s secret if it has a pool. */
  client(providerName: string, key: PoolKey | null): ChatProvider;
  pool(providerName: string): KeyPool | null;
  breaker(label: string): Breaker;
  metrics?: RoutingMetrics;
  telemetry?: Telemetry;
  /** Random in [0, 1): the backoff's jitter (tests pin it). */
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

type Verdict = "fatal" | "retry" | "next";

/** What to do after a failed attempt, and how to count it. */
function judge(err: unknown): { verdict: Verdict; outcome: AttemptOutcome; keyRefused: boolean; retryAfterMs: number } {
  if (!(err instanceof AppError)) return { verdict: "fatal", outcome: "error", keyRefused: false, retryAfterMs: 0 };
  const status = err.details?.upstreamStatus as number | undefined;
  const ra = Number(err.headers?.["retry-after"]);
  const retryAfterMs = Number.isFinite(ra) && ra > 0 ? ra * 1000 : 0;
  switch (err.code) {
    case "INVALID_PARAMS":
    case "PAYLOAD_TOO_LARGE":
      return { verdict: "fatal", outcome: "invalid", keyRefused: false, retryAfterMs: 0 };
    case "RATE_LIMITED":
      return { verdict: "retry", outcome: "rate_limited", keyRefused: true, retryAfterMs };
    case "UNAVAILABLE":
      return { verdict: "retry", outcome: "unavailable", keyRefused: false, retryAfterMs };
    case "UPSTREAM_TIMEOUT":
      return { verdict: "retry", outcome: "timeout", keyRefused: false, retryAfterMs: 0 };
    case "UPSTREAM_ERROR":
      // The provider refused the gateway's credentials: another key may work, this one will not.
      if (status === 401 || status === 403) return { verdict: "next", outcome: "refused", keyRefused: true, retryAfterMs: 0 };
      return { verdict: "retry", outcome: "error", keyRefused: false, retryAfterMs: 0 };
    default:
      return { verdict: "fatal", outcome: "error", keyRefused: false, retryAfterMs: 0 };
  }
}

const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(new ClientGone());
    const onAbort = () => {
      clearTimeout(t);
      reject(new ClientGone());
    };
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });

export function createRouter(model: string, deployments: Deployment[], deps: RouterDeps): ChatProvider {
  const random = deps.random ?? Math.random;
  const sleep = deps.sleep ?? defaultSleep;
  /** Each deployment's own request for a prepared one (the chat layer holds the largest). */
  const prepared = new WeakMap<UpstreamRequest, UpstreamRequest[]>();
  const primary = deps.client(deployments[0]!.providerName, null);

  type Done = (outcome: "ok" | "midstream_error" | "client_closed") => void;
  async function run<A, R>(req: UpstreamRequest, ctx: CallContext, stream: boolean, call: (p: ChatProvider, r: UpstreamRequest, a: CallContext) => Promise<A>, finish: (out: A, done: Done, span?: RouteSpan) => R, reqFor?: (i: number) => UpstreamRequest, serves?: (cfg: ProviderConfig) => boolean): Promise<R> {
    const reqs = prepared.get(req);
    const policy = deps.policy();
    const span = deps.telemetry?.route(model, stream, req.payload);
    let lastErr: unknown = null;
    let openUntil = Number.POSITIVE_INFINITY;
    let attempts = 0;
    try {
      for (let i = 0; i < deployments.length; i++) {
        const d = deployments[i]!;
        // A deployment whose provider does not serve this call (a raw POST's path) is not one of its deployments.
        if (serves && !serves(d.cfg)) continue;
        const breaker = deps.breaker(d.label);
        if (i > 0 && attempts > 0) deps.metrics?.fallback(model);
        let keySwaps = 0;
        for (let n = 0; n <= policy.retries; n++) {
          // A model with one deployment has nowhere else to go: it always tries it (the provider's own
          // error says more than a gateway 503), while its outcomes still feed the shared breaker.
          if (deployments.length > 1 && !breaker.tryAcquire(policy.breaker)) {
            openUntil = Math.min(openUntil, breaker.retryInMs(policy.breaker));
            deps.metrics?.attempt({ provider: d.providerName, model, deployment: d.label, key: "", outcome: "circuit_open" });
            break;
          }
          if (ctx.controller.signal.aborted) {
            breaker.release();
            throw new ClientGone();
          }
          attempts++;
          const pool = deps.pool(d.providerName);
          const lease = pool ? pool.acquire(d.pinnedKey) : null;
          const keyName = lease?.key.name ?? "";
          const attempt = new AbortController();
          const link = () => attempt.abort(ctx.controller.signal.reason);
          ctx.controller.signal.addEventListener("abort", link, { once: true });
          attempt.signal.addEventListener("abort", () => lease?.release(), { once: true });
          const actx: CallContext = {
            ...ctx,
            controller: attempt,
            timeoutMs: d.cfg.timeoutMs,
            firstByteTimeoutMs: d.cfg.firstByteTimeoutMs,
            idleTimeoutMs: d.cfg.idleTimeoutMs,
            connectTimeoutMs: d.cfg.connectTimeoutMs,
          };
          const started = deps.now();
          const aspan: AttemptSpan | undefined = span?.attempt({ provider: d.providerName, deployment: d.label, key: keyName, attempt: attempts });
          const ended = (outcome: AttemptOutcome, err?: unknown) => {
            deps.metrics?.attempt({ provider: d.providerName, model, deployment: d.label, key: keyName, outcome });
            aspan?.end(outcome, err instanceof Error ? err.message : undefined);
            if (outcome !== "ok") {
              deps.log.warn("provider attempt failed", { model, deployment: d.label, key: keyName || undefined, attempt: attempts, outcome, ms: deps.now() - started, error: err instanceof Error ? err.message : undefined });
            }
          };
          try {
            const out = await call(deps.client(d.providerName, lease?.key ?? null), reqFor ? reqFor(i) : (reqs?.[i] ?? req), actx);
            breaker.success();
            ctx.served?.(d.label);
            span?.served(d.label);
            return finish(out, (outcome) => {
              ctx.controller.signal.removeEventListener("abort", link);
              lease?.release(outcome === "ok" ? "ok" : undefined);
              if (outcome === "midstream_error") breaker.failure(policy.breaker);
              ended(outcome);
              span?.end(outcome);
            }, span);
          } catch (err) {
            ctx.controller.signal.removeEventListener("abort", link);
            if (err instanceof ClientGone) {
              lease?.release();
              breaker.release();
              ended("client_closed");
              throw err;
            }
            const j = judge(err);
            lease?.release(j.keyRefused ? "refused" : undefined);
            ended(j.outcome, err);
            lastErr = err;
            if (j.verdict === "fatal") {
              breaker.release();
              throw err;
            }
            const wasOpen = breaker.state(policy.breaker) !== "closed";
            breaker.failure(policy.breaker);
            if (!wasOpen && breaker.state(policy.breaker) === "open") deps.metrics?.breakerOpened(model, d.label);
            // 401/403: this deployment's key is refused; with other keys in its pool, retry at once on one
            // of them (not counted as a retry: the provider is not failing, the key is).
            if (j.verdict === "next") {
              if (pool && d.pinnedKey === undefined && keySwaps < pool.size - 1) {
                keySwaps++;
                n--;
                continue;
              }
              break;
            }
            if (n === policy.retries) break;
            const wait = Math.max(Math.floor(random() * Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** n)), j.retryAfterMs);
            // A provider that asks for a longer pause than the policy allows is left for the next deployment.
            if (wait > policy.maxBackoffMs) break;
            if (wait > 0) await sleep(wait, ctx.controller.signal);
          }
        }
      }
      if (lastErr) throw lastErr;
      const seconds = Math.max(1, Math.ceil(openUntil / 1000));
      throw new AppError("UNAVAILABLE", `every deployment of model "${model}" is failing; the gateway is holding off for ${seconds}s`, { headers: { "retry-after": String(seconds) } });
    } catch (err) {
      span?.end(err instanceof ClientGone ? "client_closed" : "error", err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  /** A request sent as is (native Messages, a raw POST) for deployment `i`: the same body with its upstream model. */
  const nativeFor = (req: UpstreamRequest) => (i: number): UpstreamRequest =>
    i === 0 ? req : { ...req, payload: JSON.stringify({ ...(JSON.parse(req.payload) as Json), model: deployments[i]!.upstreamModel }) };
  const relay = (first: IteratorResult<StreamItem>, it: AsyncIterator<StreamItem>, done: Done) =>
    (async function* (): AsyncGenerator<StreamItem> {
      let outcome: "ok" | "midstream_error" | "client_closed" = "client_closed";
      try {
        if (first.done) {
          outcome = "ok";
          return;
        }
        yield first.value;
        for (;;) {
          const next = await it.next();
          if (next.done) break;
          yield next.value;
        }
        outcome = "ok";
      } catch (err) {
        outcome = err instanceof ClientGone ? "client_closed" : "midstream_error";
        throw err;
      } finally {
        done(outcome);
      }
    })();
  /** Until a stream's first event the client has nothing: a failure there is still retried. */
  const opened = async (s: Promise<AsyncIterable<StreamItem>>) => {
    const it = (await s)[Symbol.asyncIterator]();
    return { it, first: await it.next() };
  };
  const completed = <T extends { body: Json }>(out: T, done: Done, span?: RouteSpan): T => {
    span?.completion(() => JSON.stringify(out.body.choices ?? out.body.content ?? null));
    done("ok");
    return out;
  };

  const native = primary.messages;
  // A raw POST may go to any deployment whose client speaks it (the caller's `serves` narrows further).
  const raw = primary.post;
  const speaks = (serves?: (cfg: ProviderConfig) => boolean) => (cfg: ProviderConfig) => (serves ? serves(cfg) : true) && cfg.kind === "openai";
  return {
    ...(raw
      ? {
          post: {
            complete: (path, req, ctx, serves) => run(req, ctx, false, (p, r, a) => p.post!.complete(path, r, a), (out, done) => (done("ok"), out), nativeFor(req), speaks(serves)),
            stream: (path, req, ctx, serves) => run(req, ctx, true, (p, r, a) => opened(p.post!.stream(path, r, a)), ({ it, first }, done) => relay(first, it, done), nativeFor(req), speaks(serves)),
          } satisfies RawPost,
        }
      : {}),
    ...(native
      ? {
          messages: {
            complete: (req, ctx) => run(req, ctx, false, (p, r, a) => p.messages!.complete(r, a), completed, nativeFor(req)),
            stream: (req, ctx) => run(req, ctx, true, (p, r, a) => opened(p.messages!.stream(r, a)), ({ it, first }, done) => relay(first, it, done), nativeFor(req)),
            countTokens: (req, ctx) => run(req, ctx, false, (p, r, a) => p.messages!.countTokens(r, a), (out, done) => (done("ok"), out), nativeFor(req)),
          } satisfies NativeMessages,
        }
      : {}),

    prepare(body: Json, stream: boolean): UpstreamRequest {
      if (deployments.length === 1) return primary.prepare(body, stream);
      const all = deployments.map((d) => deps.client(d.providerName, null).prepare({ ...body, model: d.upstreamModel }, stream));
      // Admission reserves by the largest of the requests any deployment may be sent.
      const size = (r: UpstreamRequest) => Buffer.byteLength(r.payload) - r.imageBytes + r.framingTokens;
      const largest = all.reduce((a, b) => (size(b) > size(a) ? b : a));
      const held = { ...largest };
      prepared.set(held, all);
      return held;
    },

    complete: (req, ctx) => run(req, ctx, false, (p, r, a) => p.complete(r, a), completed),

    stream: (req, ctx) => run(req, ctx, true, (p, r, a) => opened(p.stream(r, a)), ({ it, first }, done) => relay(first, it, done)),
  };
}
