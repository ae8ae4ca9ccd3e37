// Kind "openai": any OpenAI-compatible /chat/completions (OpenAI, OpenRouter, vLLM, Ollama,
// llama.cpp server). The request arrives vetted and rewritten by the chat layer; streams always ask for usage.
import { parseSse } from "../../lib/sse.ts";
import type { GatewayConfig } from "../../config/schema.ts";
import type { TokenUsage } from "../usage/pricing.ts";
import { AppError } from "../../core/errors.ts";
import { bodyStream, countImages, jsonEvents, providerError, readAll, readJson, upstreamFailure, upstreamFetch, type ChatProvider, type Json, type RawPost, type StreamItem, type UpstreamRequest } from "./provider.ts";

type ProviderConfig = GatewayConfig["providers"][string];

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/** OpenAI usage → ours. Cache writes appear under different names on OpenAI-compatible servers. */
export function openAiUsage(u: unknown): TokenUsage | null {
  if (!u || typeof u !== "object") return null;
  const x = u as Record<string, any>;
  const pd = (x.prompt_tokens_details ?? {}) as Record<string, unknown>;
  const cd = (x.completion_tokens_details ?? {}) as Record<string, unknown>;
  return {
    inputTokens: num(x.prompt_tokens),
    outputTokens: num(x.completion_tokens),
    cacheReadTokens: num(pd.cached_tokens),
    cacheWriteTokens: num(pd.cache_write_tokens ?? pd.cache_creation_tokens ?? x.cache_creation_input_tokens),
    reasoningTokens: num(cd.reasoning_tokens),
  };
}

const messageOf = (b: unknown) => (b as { error?: { message?: string } })?.error?.message ?? (typeof (b as { error?: unknown })?.error === "string" ? ((b as { error: string }).error) : undefined);

const imageData = (part: Json): string | null => (part.type === "image_url" ? (((part.image_url as Json | undefined)?.url as string | undefined) ?? "") : null);

/** The body as an OpenAI-compatible server receives it; streams always ask for usage. */
export function prepareOpenAi(body: Json, stream: boolean): UpstreamRequest {
  const payload = stream ? { ...body, stream: true, stream_options: { ...((body.stream_options as Json | undefined) ?? {}), include_usage: true } } : { ...body, stream: false };
  return {
    payload: JSON.stringify(payload),
    ...countImages(body.messages, imageData),
    structured: body.tools !== undefined || body.functions !== undefined || body.response_format !== undefined,
    // Tool call arguments travel as JSON strings, escaped: the payload holds more bytes than the model reads.
    framingTokens: 0,
  };
}

export function createOpenAiProvider(name: string, cfg: ProviderConfig): ChatProvider {
  const base = cfg.baseUrl.replace(/\/+$/, "");
  const url = `${base}/chat/completions`;
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json", ...(cfg.headers ?? {}) };
  if (cfg.apiKey) headers.authorization = `Bearer ${cfg.apiKey}`;
  return { ...openAiWire(name, { prepare: prepareOpenAi, url: () => url, headers }), post: rawPost(name, base, headers) };
}

/** A path below the base URL: segments of letters, digits, `_` and `-` only (never `..`, a query or a host). */
const RAW_PATH = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

/** POST <base>/<path> with the provider's headers (its key included): the Responses API, embeddings. */
function rawPost(name: string, base: string, headers: Record<string, string>): RawPost {
  const at = (path: string) => {
    if (!RAW_PATH.test(path)) throw new AppError("INTERNAL", `not a provider path: ${JSON.stringify(path)}`);
    return `${base}/${path}`;
  };
  return {
    async complete(path, req, ctx) {
      const up = await upstreamFetch(name, at(path), { method: "POST", headers, body: req.payload }, ctx);
      if (!up.response.ok) throw await upstreamFailure(name, up, messageOf);
      return { body: await readJson(name, up) };
    },
    async stream(path, req, ctx) {
      const up = await upstreamFetch(name, at(path), { method: "POST", headers: { ...headers, accept: "text/event-stream" }, body: req.payload }, ctx);
      if (!up.response.ok) throw await upstreamFailure(name, up, messageOf);
      return (async function* (): AsyncGenerator<StreamItem> {
        for await (const { data } of jsonEvents(name, up)) yield { chunk: data };
      })();
    },
  };
}

/** The OpenAI chat completions wire, wherever it is served (Azure's deployment URLs build on it). */
export function openAiWire<R extends UpstreamRequest>(name: string, at: { prepare: (body: Json, stream: boolean) => R; url: (req: R) => string; headers: Record<string, string> }): ChatProvider {
  const { headers } = at;
  return {
    prepare: at.prepare,

    async complete(req, ctx) {
      const url = at.url(req as R);
      const up = await upstreamFetch(name, url, { method: "POST", headers, body: req.payload }, ctx);
      if (!up.response.ok) throw await upstreamFailure(name, up, messageOf);
      const text = await readAll(up);
      let json: Json;
      try {
        json = JSON.parse(text) as Json;
      } catch {
        throw providerError("UPSTREAM_ERROR", `provider "${name}" answered with something that is not JSON`);
      }
      json.model = ctx.model;
      return { body: json, usage: openAiUsage(json.usage) };
    },

    async stream(req, ctx) {
      const url = at.url(req as R);
      const up = await upstreamFetch(name, url, { method: "POST", headers: { ...headers, accept: "text/event-stream" }, body: req.payload }, ctx);
      if (!up.response.ok) throw await upstreamFailure(name, up, messageOf);
      return (async function* (): AsyncGenerator<StreamItem> {
        let last: TokenUsage | null = null;
        for await (const ev of parseSse(bodyStream(up))) {
          if (ev.data === "[DONE]") {
            // The stream is complete: whatever usage it reported last is the closing count.
            if (last) yield { usage: last, final: true };
            return;
          }
          let chunk: Json;
          try {
            chunk = JSON.parse(ev.data) as Json;
          } catch {
            throw providerError("UPSTREAM_ERROR", `provider "${name}" sent a stream event that is not JSON`);
          }
          if (chunk.error) throw providerError("UPSTREAM_ERROR", `provider "${name}" failed mid-stream: ${messageOf(chunk) ?? "error"}`);
          const usage = openAiUsage(chunk.usage);
          if (usage) last = usage;
          chunk.model = ctx.model;
          // OpenAI reports usage once, in a last chunk without choices; a server that reports it on
          // every chunk (vLLM's continuous stats) gives running totals until then.
          const final = usage !== null && Array.isArray(chunk.choices) && chunk.choices.length === 0;
          yield { chunk, ...(usage ? { usage } : {}), ...(final ? { final } : {}) };
        }
      })();
    },
  };
}
