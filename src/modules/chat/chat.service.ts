// Routing one chat completion: validate → resolve the model for this tenant → admit against the
// quotas (reserving the worst case) → call the provider → meter the reported usage → settle the
// reservation and complete the ledger row. What reaches the provider is vetted first (chat.fields.ts,
// image-urls.ts) and the quota bound is computed from the exact bytes sent. Streams are relayed chunk
// by chunk, with the usage chunk passed on only if the client asked for it, keep-alive comments while
// the provider is quiet, and the upstream call aborted when the client goes away (a stream cut before
// the provider's closing usage is charged its whole input bound and the output it received).
import type { Clock } from "../../core/clock.ts";
import { AppError, toAppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import { sseComment, sseData } from "../../lib/sse.ts";
import type { ModelsService, ResolvedModel } from "../models/models.service.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import { ClientGone, type ChatProvider, type Json, type StreamItem, type UpstreamRequest } from "../providers/provider.ts";
import type { ProvidersService } from "../providers/providers.service.ts";
import type { QuotaEngine, Reservation } from "../quotas/quota-engine.ts";
import type { Ledger } from "../usage/ledger.ts";
import { priceMicroUsd, totalTokens, type TokenUsage } from "../usage/pricing.ts";
import { vetChatFields } from "./chat.fields.ts";
import { inputTokenBound, outputCap, parseChatRequest, type ChatRequest } from "./chat.model.ts";
import { vetImageUrls, type Lookup } from "./image-urls.ts";
import { CutCharge, outputBytes } from "./metering.ts";
import type { ProviderIdentity } from "./provider-identity.ts";

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };
const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" };

export interface ChatDeps {
  clock: Clock;
  log: Logger;
  models: ModelsService;
  overlays: OverlaysService;
  providers: ProvidersService;
  quotas: QuotaEngine;
  ledger: Ledger;
  /** How long a stream may be quiet before the gateway sends a keep-alive comment. */
  keepAliveMs: () => number;
  /** Headers every response carries (the edge's security headers). */
  responseHeaders?: Record<string, string>;
  /** The opaque per-tenant ids providers see instead of anything the tenant chose. */
  identity: ProviderIdentity;
  /** DNS for vetting https:// image URLs (tests stand in for it). */
  lookup?: Lookup;
  /** When this gateway started: the `created` of the models it lists. */
  startedAt: number;
}

export interface ChatCall {
  /** The tenant the edge authenticated. */
  tenant: TenantScope;
  requestId: string;
  body: unknown;
  /**
   * The client's disconnect signal, asked for only by streams (on Bun's server, merely reading
   * request.signal costs every request measurably): a stream whose client goes away is aborted
   * upstream; a non-streaming call runs to completion and is charged.
   */
  clientSignal?: () => AbortSignal;
  /** Echoed as x-request-id on the response. */
  requestIdHeader?: string;
  /** An agent run's model call (modules/agents): its ledger row carries the session key and run id. */
  run?: { sessionKey: string; runId: string };
  /** Told what the call was charged, once it is settled (an agent run records it in its transcript). */
  onSettled?: (charged: Settled) => void;
  /** An internal caller's abort (an agent run aborted or stopped): ends the upstream call in either mode. */
  signal?: AbortSignal;
}

/** What a settled call was charged. */
export interface Settled {
  usage: TokenUsage;
  costMicroUsd: number;
}

/** The agent runtime's part of the /v1 surface (models named `openclaw/<agentId>`), plugged in by the agents module. */
export interface AgentSurface {
  /** Whether this request's model names an agent. */
  claims(model: unknown): boolean;
  handle(call: ChatCall & { sessionKeyHeader?: string | null }): Promise<Response>;
  /** The tenant's agents as model ids. */
  models(tenant: TenantScope): string[];
}

type Outcome = {
  status: "ok" | "error" | "client_closed";
  httpStatus: number;
  errorCode?: string;
  /** Usage as the provider reported it; `final` says it is its closing count, not a running one. */
  usage: TokenUsage | null;
  final?: boolean;
  /** Charge the input bound and the output seen unless final usage arrived (false: nothing was sent upstream). */
  chargeInput: boolean;
  /** The provider had the request and never said what it did with it: charge what was reserved. */
  chargeAll?: boolean;
  outputBytes?: number;
  ttfbMs?: number;
};

const NO_USAGE: TokenUsage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };

export function createChatService(deps: ChatDeps) {
  const { clock, models, quotas, ledger } = deps;

  function settleWith(id: string, reservation: Reservation, model: ResolvedModel, cut: CutCharge, startedAt: number, o: Outcome): Settled {
    let u = o.usage ?? NO_USAGE;
    if (o.chargeAll) u = cut.worst();
    else if (o.chargeInput && !(o.usage && o.final)) u = cut.charge(o.usage, o.outputBytes ?? 0);
    const micro = priceMicroUsd(u, model.rates);
    quotas.settle(reservation, { tokens: totalTokens(u), micro });
    const now = clock.now();
    ledger.finish(id, {
      status: o.status,
      httpStatus: o.httpStatus,
      errorCode: o.errorCode ?? null,
      inputTokens: u.inputTokens,
      outputTokens: u.outputTokens,
      cacheReadTokens: u.cacheReadTokens,
      cacheWriteTokens: u.cacheWriteTokens,
      reasoningTokens: u.reasoningTokens,
      totalTokens: totalTokens(u),
      costMicroUsd: micro,
      endedAt: now,
      latencyMs: now - startedAt,
      ttfbMs: o.ttfbMs ?? null,
    });
    return { usage: u, costMicroUsd: micro };
  }

  /** The body for the provider: upstream model, our output cap, and our ids in place of the tenant's. */
  function upstreamBody(req: ChatRequest, model: ResolvedModel, tenantId: string, maxOut: number): Json {
    const body: Json = { ...req.body, model: model.upstreamModel };
    delete body.max_tokens;
    delete body.max_completion_tokens;
    const cap = outputCap(req, model, maxOut);
    if (cap) body[cap.field] = cap.value;
    if (!req.stream) delete body.stream_options;
    body.user = deps.identity.user(tenantId, req.body.user);
    if (typeof req.body.safety_identifier === "string") body.safety_identifier = deps.identity.user(tenantId, req.body.safety_identifier);
    if (typeof req.body.prompt_cache_key === "string") body.prompt_cache_key = deps.identity.cacheKey(tenantId, req.body.prompt_cache_key);
    return body;
  }

  function prepare(provider: ChatProvider, req: ChatRequest, body: Json): { upstream: UpstreamRequest; bound: number } {
    const upstream = provider.prepare(body, req.stream);
    return { upstream, bound: inputTokenBound(upstream) };
  }

  let agentSurface: AgentSurface | null = null;

  return {
    startedAt: deps.startedAt,

    /** The agents module plugs its `openclaw/<agentId>` models in here (it is built after chat). */
    useAgents(surface: AgentSurface): void {
      agentSurface = surface;
    },
    get agents(): AgentSurface | null {
      return agentSurface;
    },

    async handle(call: ChatCall): Promise<Response> {
      const tenantId = call.tenant.tenantId;
      const req = parseChatRequest(call.body, models.defaultFor(call.tenant));
      const model = models.resolve(call.tenant, req.model);
      if (!model) throw new AppError("NOT_FOUND", `The model \`${req.model}\` does not exist or you do not have access to it.`, { details: { param: "model" } });
      const provider = deps.providers.get(model.providerName);
      if (!provider) throw new AppError("UPSTREAM_ERROR", `provider "${model.providerName}" is not configured`);
      if (req.choices > 1 && model.provider.kind === "anthropic") throw new AppError("INVALID_PARAMS", "n: more than one choice is not supported by this model", { details: { param: "n" } });

      const images = vetChatFields(req.body, model.provider.kind, model.passthrough);
      if (images.length > 0) await vetImageUrls(images, model.imageRules, deps.lookup);

      const tenantCap = deps.overlays.current(call.tenant).agent?.maxTokens;
      const cap = Math.min(model.maxOutputTokens, tenantCap ?? Number.POSITIVE_INFINITY);
      const wanted = Math.min(req.requestedMaxTokens ?? cap, cap);
      // The bound is taken from the very bytes that will be sent (with the largest output cap this
      // request can have: a clamped cap only has fewer digits).
      let body = upstreamBody(req, model, tenantId, wanted);
      let { upstream, bound: inputBound } = prepare(provider, req, body);
      const r = model.rates;
      // Rejected prediction tokens are billed as output: price the prompt's bytes at the dearest rate.
      const promptRates = body.prediction === undefined ? [r.input, r.cacheRead, r.cacheWrite] : [r.input, r.cacheRead, r.cacheWrite, r.output, r.reasoning];
      const admission = quotas.admit(call.tenant, {
        promptTokens: inputBound,
        maxOutputTokens: wanted,
        choices: req.choices,
        microPerPromptToken: Math.max(...promptRates),
        microPerOutputToken: Math.max(r.output, r.reasoning),
      });
      if (!admission.ok) throw admission.error;
      if (admission.maxOutputTokens !== wanted) {
        body = upstreamBody(req, model, tenantId, admission.maxOutputTokens);
        ({ upstream, bound: inputBound } = prepare(provider, req, body));
      }

      const startedAt = clock.now();
      const id = Bun.randomUUIDv7(); // time-ordered: ledger inserts append to the index
      const { reservation } = admission;
      ledger.begin({
        id,
        tenantId,
        requestId: call.requestId,
        model: model.name,
        provider: model.providerName,
        upstreamModel: model.upstreamModel,
        sessionKey: call.run?.sessionKey ?? null,
        runId: call.run?.runId ?? null,
        stream: req.stream,
        status: "in_flight",
        reservedTokens: reservation.tokens,
        reservedMicroUsd: reservation.micro,
        inputBound,
        rates: model.ratesJson,
        startedAt,
      });
      const cut = new CutCharge(inputBound, admission.maxOutputTokens * req.choices);
      const settle = (o: Outcome) => {
        const charged = settleWith(id, reservation, model, cut, startedAt, o);
        call.onSettled?.(charged);
      };
      const headers: Record<string, string> = { ...deps.responseHeaders, ...admission.headers };
      if (call.requestIdHeader) headers["x-request-id"] = call.requestIdHeader;
      if (admission.clamped) headers["x-openclaw-max-tokens-clamped"] = String(admission.maxOutputTokens);
      // A stream's provider call stops when the client disconnects or the response stream is cancelled.
      const stop = new AbortController();
      if (call.signal) {
        if (call.signal.aborted) stop.abort(new ClientGone());
        else call.signal.addEventListener("abort", () => stop.abort(new ClientGone()), { once: true });
      }
      if (req.stream) {
        const client = call.clientSignal?.();
        if (client?.aborted) stop.abort(new ClientGone());
        else client?.addEventListener("abort", () => stop.abort(new ClientGone()), { once: true });
      }
      const ctx = { controller: stop, timeoutMs: model.provider.timeoutMs, model: model.name };

      if (!req.stream) {
        try {
          const out = await provider.complete(upstream, ctx);
          settle({ status: "ok", httpStatus: 200, usage: out.usage, final: true, chargeInput: true, outputBytes: out.usage ? 0 : outputBytes(out.body.choices, "message"), ttfbMs: clock.now() - startedAt });
          return new Response(JSON.stringify(out.body), { headers: { ...JSON_HEADERS, ...headers } });
        } catch (err) {
          if (err instanceof ClientGone) {
            settle({ status: "client_closed", httpStatus: 499, errorCode: "client_closed", usage: null, chargeInput: true });
            throw err;
          }
          const e = toAppError(err);
          settle({ status: "error", httpStatus: e.status, errorCode: e.code, usage: null, chargeInput: false, chargeAll: e.code === "UPSTREAM_TIMEOUT" });
          throw withHeaders(e, headers);
        }
      }

      let items: AsyncIterator<StreamItem>;
      try {
        items = (await provider.stream(upstream, ctx))[Symbol.asyncIterator]();
      } catch (err) {
        if (err instanceof ClientGone) {
          settle({ status: "client_closed", httpStatus: 499, errorCode: "client_closed", usage: null, chargeInput: true });
          throw err;
        }
        const e = toAppError(err);
        settle({ status: "error", httpStatus: e.status, errorCode: e.code, usage: null, chargeInput: false, chargeAll: e.code === "UPSTREAM_TIMEOUT" });
        throw withHeaders(e, headers);
      }
      return new Response(relay(items, req, settle, startedAt, clock, () => stop.abort(new ClientGone()), deps.keepAliveMs()), { headers: { ...SSE_HEADERS, ...headers } });
    },
  };
}

function withHeaders(e: AppError, headers: Record<string, string>): AppError {
  return new AppError(e.code, e.message, { details: e.details, cause: e.cause, headers: { ...headers, ...(e.headers ?? {}) } });
}

/** The SSE body: provider chunks out, usage chunk only if asked, keep-alives while quiet, settle once. */
function relay(
  items: AsyncIterator<StreamItem>,
  req: ChatRequest,
  settle: (o: Outcome) => void,
  startedAt: number,
  clock: Clock,
  abortUpstream: () => void,
  keepAliveMs: number,
): ReadableStream<Uint8Array> {
  let usage: TokenUsage | null = null;
  let final = false;
  let outBytes = 0;
  let ttfbMs: number | undefined;
  let pending: Promise<IteratorResult<StreamItem>> | null = null;
  let settled = false;
  const once = (o: Omit<Outcome, "usage" | "final" | "outputBytes" | "ttfbMs">) => {
    if (settled) return;
    settled = true;
    settle({ ...o, usage, final, outputBytes: outBytes, ttfbMs });
  };
  const KEEPALIVE = Symbol("keepalive");

  return new ReadableStream<Uint8Array>({
    // Each pull enqueues something (a chunk, a keep-alive, [DONE] or an error) or closes the stream;
    // provider items that produce nothing for the client are skipped in the loop.
    async pull(controller) {
      for (;;) {
        pending ??= items.next();
        let timer: Timer | undefined;
        let next: IteratorResult<StreamItem> | typeof KEEPALIVE;
        try {
          next = await Promise.race([pending, new Promise<typeof KEEPALIVE>((resolve) => (timer = setTimeout(() => resolve(KEEPALIVE), keepAliveMs)))]);
        } catch (err) {
          clearTimeout(timer);
          pending = null;
          if (err instanceof ClientGone) {
            once({ status: "client_closed", httpStatus: 499, errorCode: "client_closed", chargeInput: true });
            controller.close();
            return;
          }
          const e = toAppError(err);
          once({ status: "error", httpStatus: 200, errorCode: e.code, chargeInput: true });
          const type = e.code === "UPSTREAM_TIMEOUT" ? "timeout" : "api_error";
          controller.enqueue(sseData({ error: { message: e.message, type, code: e.code.toLowerCase(), param: null } }));
          controller.close();
          return;
        }
        clearTimeout(timer);
        if (next === KEEPALIVE) {
          controller.enqueue(sseComment("keep-alive"));
          return;
        }
        pending = null;
        if (next.done) {
          once({ status: "ok", httpStatus: 200, errorCode: final ? undefined : "no_usage_reported", chargeInput: true });
          controller.enqueue(sseData("[DONE]"));
          controller.close();
          return;
        }
        const item = next.value;
        ttfbMs ??= clock.now() - startedAt;
        if (item.usage) usage = item.usage;
        if (item.final) final = true;
        const chunk = item.chunk;
        if (!chunk) continue;
        const choices = chunk.choices as Json[] | undefined;
        outBytes += outputBytes(choices, "delta");
        if (!req.includeUsage) {
          if (Array.isArray(choices) && choices.length === 0) continue; // the usage-only chunk
          delete chunk.usage;
        }
        controller.enqueue(sseData(chunk));
        return;
      }
    },
    async cancel() {
      // The client went away: stop the provider and charge at least the input.
      once({ status: "client_closed", httpStatus: 499, errorCode: "client_closed", chargeInput: true });
      abortUpstream();
    },
  });
}

export type ChatService = ReturnType<typeof createChatService>;
