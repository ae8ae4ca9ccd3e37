// The Responses API passed through to a provider that serves it (kind openai with `responses: true`),
// as a codec of the governed-call core (chat/governed-call.ts): admitted, ledgered, metered and settled
// like any call. What is sent is built from the vetted request only (the same closed set of fields
// the translation takes), with the whole conversation inline and `store: false` — the conversation
// is kept here, tenant-local, never in the operator's provider account — and the gateway's opaque
// ids in place of the tenant's `user`, `safety_identifier` and `prompt_cache_key`. The provider's
// response and stream events come back with our response id and the public model name.
import { AppError } from "../../core/errors.ts";
import type { ResolvedModel } from "../models/models.service.ts";
import type { ProviderIdentity } from "../chat/provider-identity.ts";
import type { SurfaceCodec } from "../chat/governed-call.ts";
import { countImages, type ChatProvider, type Json, type StreamItem } from "../providers/provider.ts";
import type { TokenUsage } from "../usage/pricing.ts";

const enc = new TextEncoder();
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/** Responses usage → ours. */
export function responsesUsage(u: unknown): TokenUsage | null {
  if (!u || typeof u !== "object") return null;
  const x = u as Json;
  return {
    inputTokens: num(x.input_tokens),
    outputTokens: num(x.output_tokens),
    cacheReadTokens: num((x.input_tokens_details as Json | undefined)?.cached_tokens),
    cacheWriteTokens: 0,
    reasoningTokens: num((x.output_tokens_details as Json | undefined)?.reasoning_tokens),
  };
}

/** Only deployments on providers that serve the Responses API get a passed-through request. */
const servesResponses = (cfg: { kind: string; responses?: boolean }) => cfg.kind === "openai" && cfg.responses === true;

/** Input items as the provider takes them: our ids and statuses left out (they name nothing there). */
function upstreamItem(it: Json): Json {
  const { id: _id, status: _status, ...rest } = it;
  return rest;
}

export interface PassthroughRequest {
  /** The client's body, vetted (responses.request.ts and the translation's checks). */
  body: Json;
  items: Json[];
  instructions: string | null;
  stream: boolean;
  tenantId: string;
}

/** The vetted fields forwarded as sent. */
const FORWARDED = ["tools", "tool_choice", "parallel_tool_calls", "temperature", "top_p", "text", "reasoning", "truncation"] as const;

export function passthroughCodec(
  req: PassthroughRequest,
  model: ResolvedModel,
  /** The model's router (providers/router.ts): deployments, key pools, retries, breakers, metrics. */
  provider: ChatProvider,
  identity: ProviderIdentity,
  /** Our Response fields put over the provider's (id, model, previous_response_id, store, metadata, user). */
  ours: Json,
  /** Told the finished response (stored before the client is told it completed). */
  onFinal: (response: Json) => void,
): SurfaceCodec {
  const post = provider.post;
  if (!post) throw new AppError("INTERNAL", `provider "${model.providerName}" does not take raw requests`);
  const rewrite = (r: Json): Json => ({ ...r, ...ours });

  return {
    prepare(maxOut) {
      const b = req.body;
      const body: Json = { model: model.upstreamModel, input: req.items.map(upstreamItem) };
      if (req.instructions) body.instructions = req.instructions;
      for (const f of FORWARDED) if (b[f] !== undefined) body[f] = b[f];
      body.max_output_tokens = maxOut;
      body.store = false;
      body.stream = req.stream;
      body.user = identity.user(req.tenantId, b.user);
      if (typeof b.safety_identifier === "string") body.safety_identifier = identity.user(req.tenantId, b.safety_identifier);
      if (typeof b.prompt_cache_key === "string") body.prompt_cache_key = identity.cacheKey(req.tenantId, b.prompt_cache_key);
      return {
        payload: JSON.stringify(body),
        ...countImages(body.input, (p) => (p.type === "input_image" ? String(p.image_url ?? "") : null)),
        structured: body.tools !== undefined || body.text !== undefined,
        framingTokens: 0,
      };
    },

    async complete(upstream, ctx) {
      const { body: json } = await post.complete("responses", upstream, ctx, servesResponses);
      const final = rewrite(json);
      onFinal(final);
      return { body: final, usage: responsesUsage(json.usage) };
    },

    outputBytesOf: (body) => Buffer.byteLength(JSON.stringify((body as Json).output ?? [])),

    async stream(upstream, ctx) {
      const events = await post.stream("responses", upstream, ctx, servesResponses);
      return (async function* (): AsyncGenerator<StreamItem> {
        for await (const { chunk: event } of events) {
          if (!event) continue;
          if (event.response && typeof event.response === "object") event.response = rewrite(event.response as Json);
          const done = event.type === "response.completed" || event.type === "response.incomplete";
          const usage = done || event.type === "response.failed" ? responsesUsage((event.response as Json | undefined)?.usage) : null;
          yield { chunk: event, ...(usage ? { usage, final: true } : {}) };
        }
      })();
    },

    frame(item) {
      const event = item.chunk;
      if (!event) return { data: null, outBytes: 0 };
      if (event.type === "response.completed" || event.type === "response.incomplete") onFinal(event.response as Json);
      const delta = event.type === "response.output_text.delta" || event.type === "response.function_call_arguments.delta" || event.type === "response.refusal.delta" ? Buffer.byteLength(String(event.delta ?? "")) : 0;
      return { data: enc.encode(`event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`), outBytes: delta };
    },

    end: () => null,

    streamError(e: AppError) {
      const error = { type: "error", code: e.code.toLowerCase(), message: e.message, param: null };
      return enc.encode(`event: error\ndata: ${JSON.stringify(error)}\n\n`);
    },

    keepAlive: () => enc.encode(": keep-alive\n\n"),
  };
}
