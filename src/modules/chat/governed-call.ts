// The governed-call core every LLM surface (chat completions, Anthropic Messages, Responses) runs a
// request through: resolve the model for this tenant → let the surface vet the request for that model
// → admit against the quotas (reserving the worst case, bound from the exact bytes sent) → ledger row
// → call the provider → meter the reported usage → settle the reservation and complete the row.
//
// A surface plugs in with a codec (`bind` returns it once the model is known):
//   prepare(maxOut)        the exact upstream request for an output cap (the bound is taken from it);
//   complete / stream      the provider call (a stream yields StreamItems whose `chunk` the codec reads);
//   outputBytesOf(body)    output bytes of a non-streaming answer, charged when no usage came back;
//   frame(item)            a stream item → bytes for the client (null: nothing) and the output bytes in it;
//   end() / streamError(e) what a stream ends with, normally or on a provider failure mid-stream;
//   keepAlive              sent while the provider is quiet.
// Errors before the response are thrown as AppError (with the quota headers attached); the surface's
// route renders them in its envelope. A stream cut before the provider's closing usage is charged its
// whole input bound and the output it received (metering.ts); the upstream call is aborted when the
// client goes away (streams) or an internal caller aborts (`signal`, either mode). A call ends when
// its tenant stops (`stop`, the module's tenantData.onStop: suspended, deleted, replaced, its token
// revoked), and a stream re-checks the identity it was admitted with before each item it relays (a
// change made by another process, the CLI, shows there): either way the provider call is aborted, the
// call is charged its input and the output seen, and a stream ends with the surface's error event.
import type { Clock } from "../../core/clock.ts";
import { AppError, toAppError } from "../../core/errors.ts";
import { assertCurrent, IdentityEnded, isCurrent, type TenantIdentity, type TenantScope } from "../../edge/tenant-scope.ts";
import type { TenantStop } from "../module.ts";
import type { ModelsService, ResolvedModel } from "../models/models.service.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import { ClientGone, type CallContext, type ChatProvider, type StreamItem, type UpstreamRequest } from "../providers/provider.ts";
import type { ProvidersService } from "../providers/providers.service.ts";
import type { QuotaEngine, Reservation } from "../quotas/quota-engine.ts";
import type { Ledger } from "../usage/ledger.ts";
import { priceMicroUsd, totalTokens, type TokenUsage } from "../usage/pricing.ts";
import { inputTokenBound as inputTokenBoundOf } from "./chat.model.ts";
import { addUsage, CutCharge } from "./metering.ts";
import { relay, type Outcome, type StreamFraming } from "./stream-relay.ts";

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };
const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" };

export interface GovernedDeps {
  clock: Clock;
  models: ModelsService;
  overlays: OverlaysService;
  providers: ProvidersService;
  quotas: QuotaEngine;
  ledger: Ledger;
  /** How long a stream may be quiet before the gateway sends a keep-alive (the surface's codec says what). */
  keepAliveMs: () => number;
  /** Headers every response carries (the edge's security headers). */
  responseHeaders?: Record<string, string>;
}

/** What a settled call was charged. */
export interface Settled {
  usage: TokenUsage;
  costMicroUsd: number;
}

/** One call as the surface parsed it. */
export interface GovernedCall {
  tenant: TenantScope;
  requestId: string;
  /** The public model name the client asked for. */
  model: string;
  stream: boolean;
  /** The output cap the client asked for (null: none). */
  requestedMaxTokens: number | null;
  /** Completions asked for (OpenAI's n): the output reservation is multiplied by it. */
  choices: number;
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
  /** An internal caller's abort: ends the upstream call in either mode. */
  signal?: AbortSignal;
}

export interface SurfaceCodec extends StreamFraming {
  prepare(maxOut: number): UpstreamRequest;
  /** The prompt may be billed at output rates (chat's `prediction`): admit it at the dearest rate. */
  promptAtOutputRate?: boolean;
  complete(upstream: UpstreamRequest, ctx: CallContext): Promise<{ body: unknown; usage: TokenUsage | null }>;
  outputBytesOf(body: unknown): number;
  stream(upstream: UpstreamRequest, ctx: CallContext): Promise<AsyncIterable<StreamItem>>;
}

/** Given the resolved model and its provider, the surface vets the request and returns its codec (throws a 400 naming the field). */
export type Bind = (model: ResolvedModel, provider: ChatProvider) => SurfaceCodec | Promise<SurfaceCodec>;

const NO_USAGE: TokenUsage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };

/** A call in flight, as its tenant's stop finds it. */
interface Live {
  tenantId: string;
  /** Of a tenant request's identity (the operator's and agent runs' scopes have none: they end by their own signal). */
  incarnation?: string;
  token?: string;
  end(): void;
}

export function createGovernedCalls(deps: GovernedDeps) {
  const { clock, models, quotas, ledger } = deps;
  const live = new Set<Live>();

  function settleWith(id: string, reservation: Reservation, model: ResolvedModel, cut: CutCharge, startedAt: number, o: Outcome, abandoned: TokenUsage[]): Settled {
    let u = o.usage ?? NO_USAGE;
    if (o.chargeAll) u = cut.worst();
    else if (o.chargeInput && !(o.usage && o.final)) u = cut.charge(o.usage, o.outputBytes ?? 0);
    // Attempts routing retried or failed over from, which the provider may have billed, are charged too.
    for (const a of abandoned) u = addUsage(u, a);
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
      deployment: o.deployment ?? null,
    });
    return { usage: u, costMicroUsd: micro };
  }

  /** Resolves the model and provider, or the errors a client gets for them. */
  function resolve(tenant: TenantScope, name: string): { model: ResolvedModel; provider: ChatProvider } {
    const model = models.resolve(tenant, name);
    if (!model) throw new AppError("NOT_FOUND", `The model \`${name}\` does not exist or you do not have access to it.`, { details: { param: "model" } });
    // The model's router (providers/router.ts): its deployments, retries, breakers and key pools.
    const provider = deps.providers.forModel(model.name);
    if (!provider) throw new AppError("UPSTREAM_ERROR", `provider "${model.providerName}" is not configured`);
    return { model, provider };
  }

  return {
    resolve,

    /** TenantData.onStop: ends the stopped incarnation's calls (for a revocation, those of the revoked tokens). */
    stop(stop: TenantStop): null {
      for (const c of [...live]) {
        if (c.tenantId !== stop.tenantId || c.incarnation === undefined || c.incarnation !== stop.incarnation) continue;
        if (stop.reason === "token-revoked" && !(c.token && stop.tokens?.includes(c.token))) continue;
        c.end();
      }
      return null;
    },

    /** Calls in flight (tests, metrics). */
    get inFlight(): number {
      return live.size;
    },

    async run(call: GovernedCall, bind: Bind): Promise<Response> {
      const tenantId = call.tenant.tenantId;
      const { model, provider } = resolve(call.tenant, call.model);
      const codec = await bind(model, provider);

      const tenantCap = deps.overlays.current(call.tenant).agent?.maxTokens;
      const cap = Math.min(model.maxOutputTokens, tenantCap ?? Number.POSITIVE_INFINITY);
      const wanted = Math.min(call.requestedMaxTokens ?? cap, cap);
      // The bound is taken from the very bytes that will be sent (with the largest output cap this
      // request can have: a clamped cap only has fewer digits).
      let upstream = codec.prepare(wanted);
      let inputBound = inputTokenBoundOf(upstream);
      const r = model.rates;
      // Prompt tokens billed as output (rejected predictions): price the prompt's bytes at the dearest rate.
      const promptRates = codec.promptAtOutputRate ? [r.input, r.cacheRead, r.cacheWrite, r.output, r.reasoning] : [r.input, r.cacheRead, r.cacheWrite];
      const admission = quotas.admit(call.tenant, {
        promptTokens: inputBound,
        maxOutputTokens: wanted,
        choices: call.choices,
        microPerPromptToken: Math.max(...promptRates),
        microPerOutputToken: Math.max(r.output, r.reasoning),
      });
      if (!admission.ok) throw admission.error;
      if (admission.maxOutputTokens !== wanted) {
        try {
          upstream = codec.prepare(admission.maxOutputTokens);
        } catch (err) {
          // A request that cannot be sent with the clamped cap (a thinking budget above it) is refused
          // without a trace in the quotas: nothing was sent or recorded yet.
          quotas.settle(admission.reservation, { tokens: 0, micro: 0 });
          throw withHeaders(toAppError(err), admission.headers);
        }
        inputBound = inputTokenBoundOf(upstream);
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
        stream: call.stream,
        status: "in_flight",
        reservedTokens: reservation.tokens,
        reservedMicroUsd: reservation.micro,
        inputBound,
        rates: model.ratesJson,
        startedAt,
      });
      const cut = new CutCharge(inputBound, admission.maxOutputTokens * call.choices);
      const stop = new AbortController();
      const identity = call.tenant as Partial<TenantIdentity>;
      let stopped = false;
      const entry: Live = {
        tenantId,
        incarnation: identity.incarnation,
        token: identity.actor?.id,
        end: () => {
          stopped = true;
          stop.abort(new ClientGone());
        },
      };
      live.add(entry);
      let deployment: string | undefined;
      const abandoned: TokenUsage[] = [];
      const settle = (o: Outcome) => {
        live.delete(entry);
        // A call its tenant's stop ended is recorded as such (charged like a client that left).
        const charged = settleWith(id, reservation, model, cut, startedAt, { ...(stopped && o.status === "client_closed" ? { ...o, status: "error" as const, errorCode: "tenant_stopped" } : o), deployment }, abandoned);
        call.onSettled?.(charged);
      };
      const headers: Record<string, string> = { ...deps.responseHeaders, ...admission.headers };
      if (call.requestIdHeader) headers["x-request-id"] = call.requestIdHeader;
      if (admission.clamped) headers["x-openclaw-max-tokens-clamped"] = String(admission.maxOutputTokens);
      // A stream's provider call stops when the client disconnects or the response stream is cancelled.
      if (call.signal) {
        if (call.signal.aborted) stop.abort(new ClientGone());
        else call.signal.addEventListener("abort", () => stop.abort(new ClientGone()), { once: true });
      }
      if (call.stream) {
        const client = call.clientSignal?.();
        if (client?.aborted) stop.abort(new ClientGone());
        else client?.addEventListener("abort", () => stop.abort(new ClientGone()), { once: true });
      }
      // An abandoned attempt is charged as a call ending that way: a timeout its reservation, a broken stream its input bound.
      const ctx: CallContext = { controller: stop, timeoutMs: model.provider.timeoutMs, model: model.name, served: (d) => (deployment = d), breakerScope: tenantId, abandoned: (c) => abandoned.push(c === "all" ? cut.worst() : cut.charge(null, 0)) };
      const failed = (err: unknown): never => {
        if (err instanceof ClientGone) {
          settle({ status: "client_closed", httpStatus: 499, errorCode: "client_closed", usage: null, chargeInput: true });
          throw stopped ? new IdentityEnded() : err;
        }
        const e = toAppError(err);
        settle({ status: "error", httpStatus: e.status, errorCode: e.code, usage: null, chargeInput: false, chargeAll: e.code === "UPSTREAM_TIMEOUT" });
        throw withHeaders(e, headers);
      };

      if (!call.stream) {
        try {
          const out = await codec.complete(upstream, ctx);
          // A stop made by another process (the CLI) is not heard in-process: the answer is its next item, as a stream's.
          const ended = stopped || !isCurrent(call.tenant);
          settle({ status: ended ? "error" : "ok", httpStatus: ended ? 401 : 200, errorCode: ended ? "tenant_stopped" : undefined, usage: out.usage, final: true, chargeInput: true, outputBytes: out.usage ? 0 : codec.outputBytesOf(out.body), ttfbMs: clock.now() - startedAt });
          if (ended) throw new IdentityEnded();
          return new Response(JSON.stringify(out.body), { headers: { ...JSON_HEADERS, ...headers } });
        } catch (err) {
          if (err instanceof IdentityEnded) throw err;
          return failed(err);
        }
      }

      let items: AsyncIterator<StreamItem>;
      try {
        items = (await codec.stream(upstream, ctx))[Symbol.asyncIterator]();
      } catch (err) {
        return failed(err);
      }
      const current = () => {
        if (stopped) throw new IdentityEnded();
        assertCurrent(call.tenant);
      };
      return new Response(relay(items, codec, settle, startedAt, clock, () => stop.abort(new ClientGone()), deps.keepAliveMs(), current), { headers: { ...SSE_HEADERS, ...headers } });
    },
  };
}

export type GovernedCalls = ReturnType<typeof createGovernedCalls>;

export function withHeaders(e: AppError, headers: Record<string, string>): AppError {
  return new AppError(e.code, e.message, { details: e.details, cause: e.cause, headers: { ...headers, ...(e.headers ?? {}) } });
}
