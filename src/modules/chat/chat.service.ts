// Routing one chat completion: validate → resolve the model for this tenant → admit against the
// quotas (reserving the worst case) → call the provider → meter the reported usage → settle the
// reservation and complete the ledger row. Streams are relayed chunk by chunk, with the usage chunk
// passed on only if the client asked for it, keep-alive comments while the provider is quiet, and
// the upstream call aborted when the client goes away (charged at least its input).
import type { Clock } from "../../core/clock.ts";
import { AppError, toAppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import { sseComment, sseData } from "../../lib/sse.ts";
import type { ModelsService, ResolvedModel } from "../models/models.service.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import { ClientGone, type Json, type StreamItem } from "../providers/provider.ts";
import type { ProvidersService } from "../providers/providers.service.ts";
import type { QuotaEngine, Reservation } from "../quotas/quota-engine.ts";
import type { Ledger } from "../usage/ledger.ts";
import { priceMicroUsd, totalTokens, type TokenUsage } from "../usage/pricing.ts";
import { parseChatRequest, promptTokenBound, type ChatRequest } from "./chat.model.ts";

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
}

export interface ChatCall {
  tenantId: string;
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
}

type Outcome = { status: "ok" | "error" | "client_closed"; httpStatus: number; errorCode?: string; usage: TokenUsage | null; chargeInput: boolean; outputChars?: number; ttfbMs?: number };

export function createChatService(deps: ChatDeps) {
  const { clock, models, quotas, ledger } = deps;

  function settleWith(id: string, reservation: Reservation, model: ResolvedModel, inputBound: number, startedAt: number, o: Outcome): void {
    let usage = o.usage;
    if (!usage && o.chargeInput) {
      // Cut off before the provider reported usage: charge the prompt's upper bound and the output seen.
      usage = { inputTokens: inputBound, outputTokens: Math.ceil((o.outputChars ?? 0) / 4), cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
    }
    const u = usage ?? { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
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
  }

  function upstreamBody(req: ChatRequest, model: ResolvedModel, maxOut: number): Json {
    const body: Json = { ...req.body, model: model.upstreamModel };
    delete body.max_tokens;
    delete body.max_completion_tokens;
    body[req.tokenField] = maxOut;
    if (!req.stream) delete body.stream_options;
    return body;
  }

  return {
    async handle(call: ChatCall): Promise<Response> {
      const req = parseChatRequest(call.body, models.defaultFor(call.tenantId));
      const model = models.resolve(call.tenantId, req.model);
      if (!model) throw new AppError("NOT_FOUND", `The model \`${req.model}\` does not exist or you do not have access to it.`, { details: { param: "model" } });
      const provider = deps.providers.get(model.providerName);
      if (!provider) throw new AppError("UPSTREAM_ERROR", `provider "${model.providerName}" is not configured`);
      if (req.choices > 1 && model.provider.kind === "anthropic") throw new AppError("INVALID_PARAMS", "n: more than one choice is not supported by this model", { details: { param: "n" } });

      const tenantCap = deps.overlays.current(call.tenantId).agent?.maxTokens;
      const cap = Math.min(model.maxOutputTokens, tenantCap ?? Number.POSITIVE_INFINITY);
      const wanted = Math.min(req.requestedMaxTokens ?? cap, cap);
      const inputBound = promptTokenBound(req.body);
      const r = model.rates;
      const admission = quotas.admit(call.tenantId, {
        promptTokens: inputBound,
        maxOutputTokens: wanted,
        choices: req.choices,
        microPerPromptToken: Math.max(r.input, r.cacheRead, r.cacheWrite),
        microPerOutputToken: Math.max(r.output, r.reasoning),
      });
      if (!admission.ok) throw admission.error;

      const startedAt = clock.now();
      const id = Bun.randomUUIDv7(); // time-ordered: ledger inserts append to the index
      const { reservation } = admission;
      ledger.begin({
        id,
        tenantId: call.tenantId,
        requestId: call.requestId,
        model: model.name,
        provider: model.providerName,
        upstreamModel: model.upstreamModel,
        stream: req.stream,
        status: "in_flight",
        reservedTokens: reservation.tokens,
        reservedMicroUsd: reservation.micro,
        inputBound,
        rates: model.ratesJson,
        startedAt,
      });
      const settle = (o: Outcome) => settleWith(id, reservation, model, inputBound, startedAt, o);
      const headers: Record<string, string> = { ...deps.responseHeaders, ...admission.headers };
      if (call.requestIdHeader) headers["x-request-id"] = call.requestIdHeader;
      if (admission.clamped) headers["x-openclaw-max-tokens-clamped"] = String(admission.maxOutputTokens);
      const body = upstreamBody(req, model, admission.maxOutputTokens);
      // A stream's provider call stops when the client disconnects or the response stream is cancelled.
      const stop = new AbortController();
      if (req.stream) {
        const client = call.clientSignal?.();
        if (client?.aborted) stop.abort(new ClientGone());
        else client?.addEventListener("abort", () => stop.abort(new ClientGone()), { once: true });
      }
      const ctx = { controller: stop, timeoutMs: model.provider.timeoutMs, model: model.name };

      if (!req.stream) {
        try {
          const out = await provider.complete(body, ctx);
          settle({ status: "ok", httpStatus: 200, usage: out.usage, chargeInput: true, ttfbMs: clock.now() - startedAt });
          return new Response(JSON.stringify(out.body), { headers: { ...JSON_HEADERS, ...headers } });
        } catch (err) {
          if (err instanceof ClientGone) {
            settle({ status: "client_closed", httpStatus: 499, errorCode: "client_closed", usage: null, chargeInput: true });
            throw err;
          }
          const e = toAppError(err);
          settle({ status: "error", httpStatus: e.status, errorCode: e.code, usage: null, chargeInput: false });
          throw withHeaders(e, headers);
        }
      }

      let items: AsyncIterator<StreamItem>;
      try {
        items = (await provider.stream(body, ctx))[Symbol.asyncIterator]();
      } catch (err) {
        if (err instanceof ClientGone) {
          settle({ status: "client_closed", httpStatus: 499, errorCode: "client_closed", usage: null, chargeInput: true });
          throw err;
        }
        const e = toAppError(err);
        settle({ status: "error", httpStatus: e.status, errorCode: e.code, usage: null, chargeInput: false });
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
  let outputChars = 0;
  let ttfbMs: number | undefined;
  let pending: Promise<IteratorResult<StreamItem>> | null = null;
  let settled = false;
  const once = (o: Omit<Outcome, "usage" | "outputChars" | "ttfbMs">) => {
    if (settled) return;
    settled = true;
    settle({ ...o, usage, outputChars, ttfbMs });
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
          once({ status: "ok", httpStatus: 200, errorCode: usage ? undefined : "no_usage_reported", chargeInput: true });
          controller.enqueue(sseData("[DONE]"));
          controller.close();
          return;
        }
        const item = next.value;
        ttfbMs ??= clock.now() - startedAt;
        if (item.usage) usage = item.usage;
        const chunk = item.chunk;
        if (!chunk) continue;
        const choices = chunk.choices as Json[] | undefined;
        for (const c of choices ?? []) {
          const d = c.delta as Json | undefined;
          if (typeof d?.content === "string") outputChars += d.content.length;
          for (const t of (d?.tool_calls as Json[] | undefined) ?? []) outputChars += String((t.function as Json | undefined)?.arguments ?? "").length;
        }
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
