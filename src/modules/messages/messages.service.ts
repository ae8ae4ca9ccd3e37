// Anthropic's Messages API through the governed-call core (chat/governed-call.ts): the same model
// resolution, admission, ledger and settlement as chat completions, with two codecs — native for
// anthropic-kind providers (the vetted body passed through with our model, output cap and opaque user
// id; events relayed as they come) and translated for openai-kind ones (messages.translate.ts).
import { AppError } from "../../core/errors.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import { vetChatFields } from "../chat/chat.fields.ts";
import type { ChatService } from "../chat/chat.service.ts";
import type { SurfaceCodec } from "../chat/governed-call.ts";
import { vetImageUrls } from "../chat/image-urls.ts";
import { outputBytes, stringBytes } from "../chat/metering.ts";
import type { ModelsService, ResolvedModel } from "../models/models.service.ts";
import { framingTokens } from "../providers/anthropic.tools.ts";
import type { ChatProvider, Json, NativeMessages, StreamItem, UpstreamRequest } from "../providers/provider.ts";
import type { QuotaEngine } from "../quotas/quota-engine.ts";
import type { TokenUsage } from "../usage/pricing.ts";
import { forwardedBetas, MIN_THINKING_BUDGET, parseMessagesRequest, type MessagesRequest } from "./messages.model.ts";
import { ChatToMessagesStream, fromChatCompletion, toChatBody } from "./messages.translate.ts";

export interface MessagesCall {
  tenant: TenantScope;
  requestId: string;
  body: unknown;
  /** The client's anthropic-beta header. */
  beta?: string | null;
  clientSignal?: () => AbortSignal;
  requestIdHeader?: string;
}

const enc = new TextEncoder();
/** One Messages stream event as SSE (`event:` named as Anthropic names it). */
export const sseEvent = (ev: Json): Uint8Array => enc.encode(`event: ${String(ev.type)}\ndata: ${JSON.stringify(ev)}\n\n`);
const sseEvents = (evs: Json[]): Uint8Array | null => (evs.length ? enc.encode(evs.map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`).join("")) : null);
const ping = () => sseEvent({ type: "ping" });
const STREAM_ERROR_TYPE: Partial<Record<AppError["code"], string>> = { UNAVAILABLE: "overloaded_error", UPSTREAM_TIMEOUT: "timeout_error", UNAUTHORIZED: "authentication_error" };
const errorEvent = (e: AppError) => sseEvent({ type: "error", error: { type: STREAM_ERROR_TYPE[e.code] ?? "api_error", message: e.message } });

/** Output bytes in one native stream event: text, tool input JSON and thinking. */
function deltaBytes(ev: Json): number {
  if (ev.type !== "content_block_delta") return 0;
  const d = (ev.delta ?? {}) as Json;
  const s = d.text ?? d.partial_json ?? d.thinking;
  return typeof s === "string" ? Buffer.byteLength(s) : 0;
}

/** Images of a Messages body (tool results' included): the provider counts them by pixels, not bytes. */
function images(messages: unknown): { images: number; imageBytes: number } {
  let n = 0;
  let bytes = 0;
  const walk = (blocks: unknown) => {
    if (!Array.isArray(blocks)) return;
    for (const b of blocks as Json[]) {
      if (b?.type === "image") {
        const src = (b.source ?? {}) as Json;
        n++;
        bytes += Buffer.byteLength(String(src.type === "base64" ? (src.data ?? "") : (src.url ?? ""))) + 2;
      } else if (b?.type === "tool_result") walk(b.content);
    }
  };
  for (const m of (Array.isArray(messages) ? messages : []) as Json[]) walk(m?.content);
  return { images: n, imageBytes: bytes };
}

export function createMessagesService(deps: { chat: ChatService; models: ModelsService; quotas: QuotaEngine }) {
  const { governed, identity, lookup } = deps.chat.surface;

  /** The native body for an anthropic-kind provider: our model, output cap and opaque user id. */
  function nativeRequest(req: MessagesRequest, model: ResolvedModel, tenantId: string, maxOut: number | null, beta: string | null): UpstreamRequest {
    const body: Json = { ...req.body, model: model.upstreamModel };
    if (maxOut !== null) {
      body.max_tokens = maxOut;
      body.metadata = { user_id: identity.user(tenantId, (req.body.metadata as Json | undefined)?.user_id) };
      if (req.stream) body.stream = true;
      else delete body.stream;
      // A clamped cap keeps the thinking budget below it, as the API requires.
      const th = req.body.thinking as Json | undefined;
      if (th?.type === "enabled" && (th.budget_tokens as number) >= maxOut) body.thinking = { ...th, budget_tokens: Math.max(MIN_THINKING_BUDGET, maxOut - 1) };
    }
    return { payload: JSON.stringify(body), ...images(body.messages), structured: Array.isArray(body.tools) && body.tools.length > 0, framingTokens: framingTokens(body), ...(beta ? { headers: { "anthropic-beta": beta } } : {}) };
  }

  function nativeCodec(req: MessagesRequest, model: ResolvedModel, native: NativeMessages, tenantId: string, beta: string | null): SurfaceCodec {
    return {
      prepare: (maxOut) => nativeRequest(req, model, tenantId, maxOut, beta),
      complete: (upstream, ctx) => native.complete(upstream, ctx),
      outputBytesOf: (body) => stringBytes((body as Json).content),
      stream: (upstream, ctx) => native.stream(upstream, ctx),
      frame: (item: StreamItem) => (item.chunk ? { data: sseEvent(item.chunk), outBytes: deltaBytes(item.chunk) } : { data: null, outBytes: 0 }),
      end: () => null,
      streamError: errorEvent,
      keepAlive: ping,
    };
  }

  function translatedCodec(req: MessagesRequest, model: ResolvedModel, provider: ChatProvider, tenantId: string): SurfaceCodec {
    const chat = toChatBody(req.body);
    // The translation is checked against chat's own allow-list for the kind (and the opt-ins the operator enabled).
    vetChatFields(chat, model.provider.kind, model.passthrough);
    const t = new ChatToMessagesStream(model.name);
    let usage: TokenUsage | null = null;
    return {
      prepare: (maxOut) => provider.prepare({ ...chat, model: model.upstreamModel, max_tokens: maxOut, user: identity.user(tenantId, chat.user) }, req.stream),
      complete: async (upstream, ctx) => {
        const out = await provider.complete(upstream, ctx);
        return { body: fromChatCompletion(out.body, model.name, out.usage), usage: out.usage };
      },
      outputBytesOf: (body) => stringBytes((body as Json).content),
      stream: (upstream, ctx) => provider.stream(upstream, ctx),
      frame: (item: StreamItem) => {
        if (item.usage) usage = item.usage;
        if (!item.chunk) return { data: null, outBytes: 0 };
        return { data: sseEvents(t.feed(item.chunk)), outBytes: outputBytes(item.chunk.choices, "delta") };
      },
      end: () => sseEvents(t.end(usage)),
      streamError: errorEvent,
      keepAlive: ping,
    };
  }

  return {
    async handle(call: MessagesCall): Promise<Response> {
      const tenantId = call.tenant.tenantId;
      const req = parseMessagesRequest(call.body, { defaultModel: deps.models.defaultFor(call.tenant) });
      const beta = forwardedBetas(call.beta ?? null);
      return governed.run(
        { tenant: call.tenant, requestId: call.requestId, model: req.model, stream: req.stream, requestedMaxTokens: req.maxTokens, choices: 1, clientSignal: call.clientSignal, requestIdHeader: call.requestIdHeader },
        async (model, provider) => {
          if (req.images.length > 0) await vetImageUrls(req.images, model.imageRules, lookup);
          return provider.messages ? nativeCodec(req, model, provider.messages, tenantId, beta) : translatedCodec(req, model, provider, tenantId);
        },
      );
    },

    /**
     * POST /v1/messages/count_tokens: the provider's count for anthropic-kind models; for others an
     * estimate from the translated request's bytes.
     * Free, but admitted like any request (per-minute and concurrency limits) so it is no way around them.
     */
    async countTokens(call: MessagesCall): Promise<Json> {
      const req = parseMessagesRequest(call.body, { countOnly: true, defaultModel: deps.models.defaultFor(call.tenant) });
      const { model, provider } = governed.resolve(call.tenant, req.model);
      if (req.images.length > 0) await vetImageUrls(req.images, model.imageRules, lookup);
      const admission = deps.quotas.admit(call.tenant, { promptTokens: 0, maxOutputTokens: 0, choices: 1, microPerPromptToken: 0, microPerOutputToken: 0 });
      if (!admission.ok) throw admission.error;
      try {
        if (provider.messages) {
          const ctx = { controller: new AbortController(), timeoutMs: model.provider.timeoutMs, model: model.name };
          const out = await provider.messages.countTokens(nativeRequest(req, model, call.tenant.tenantId, null, forwardedBetas(call.beta ?? null)), ctx);
          const n = out.input_tokens;
          if (typeof n !== "number" || !Number.isFinite(n) || n < 0) throw new AppError("UPSTREAM_ERROR", `provider "${model.providerName}" answered count_tokens without input_tokens`);
          return { input_tokens: Math.floor(n) };
        }
        const chat = toChatBody(req.body);
        vetChatFields(chat, model.provider.kind, model.passthrough);
        const upstream = provider.prepare({ ...chat, model: model.upstreamModel }, false);
        // An estimate, as Anthropic's own count is: about four bytes a token, and an image at its usual size.
        return { input_tokens: Math.ceil((Buffer.byteLength(upstream.payload) - upstream.imageBytes) / 4) + upstream.images * 1_600 };
      } finally {
        deps.quotas.settle(admission.reservation, { tokens: 0, micro: 0 });
      }
    },
  };
}

export type MessagesService = ReturnType<typeof createMessagesService>;
