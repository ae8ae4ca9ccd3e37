// Kind "anthropic": the Messages API, with requests and responses translated from and to chat
// completions (see anthropic.translate.ts).
import { parseSse } from "../../lib/sse.ts";
import type { GatewayConfig } from "../../config/schema.ts";
import { framingTokens } from "./anthropic.tools.ts";
import { AnthropicStreamTranslator, fromAnthropicResponse, toAnthropicRequest } from "./anthropic.translate.ts";
import { bodyStream, countImages, providerError, readAll, upstreamFailure, upstreamFetch, type ChatProvider, type Json, type StreamItem, type UpstreamRequest } from "./provider.ts";

type ProviderConfig = GatewayConfig["providers"][string];
export const ANTHROPIC_VERSION = "2023-06-01";

const messageOf = (b: unknown) => (b as { error?: { message?: string } })?.error?.message;

export function messagesUrl(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, "");
  return base.endsWith("/v1") ? `${base}/messages` : `${base}/v1/messages`;
}

const imageData = (part: Json): string | null => {
  if (part.type !== "image") return null;
  const src = (part.source ?? {}) as Json;
  return String(src.type === "base64" ? (src.data ?? "") : (src.url ?? ""));
};

/** The Messages API body for a vetted chat completions body (max tokens as the chat layer set them). */
export function prepareAnthropic(body: Json, stream: boolean): UpstreamRequest {
  const req = toAnthropicRequest(body, String(body.model), Number(body.max_completion_tokens ?? body.max_tokens));
  if (stream) req.stream = true;
  return { payload: JSON.stringify(req), ...countImages(req.messages, imageData), structured: req.tools !== undefined, framingTokens: framingTokens(req) };
}

export function createAnthropicProvider(name: string, cfg: ProviderConfig): ChatProvider {
  const url = messagesUrl(cfg.baseUrl);
  const headers: Record<string, string> = { "content-type": "application/json", "anthropic-version": ANTHROPIC_VERSION, ...(cfg.headers ?? {}) };
  if (cfg.apiKey) headers["x-api-key"] = cfg.apiKey;

  return {
    prepare: prepareAnthropic,

    async complete(req, ctx) {
      const up = await upstreamFetch(name, url, { method: "POST", headers, body: req.payload }, ctx);
      if (!up.response.ok) throw await upstreamFailure(name, up, messageOf);
      let msg: Json;
      try {
        msg = JSON.parse(await readAll(up)) as Json;
      } catch {
        throw providerError("UPSTREAM_ERROR", `provider "${name}" answered with something that is not JSON`);
      }
      return fromAnthropicResponse(msg, ctx.model, Math.floor(Date.now() / 1000));
    },

    async stream(req, ctx) {
      const up = await upstreamFetch(name, url, { method: "POST", headers: { ...headers, accept: "text/event-stream" }, body: req.payload }, ctx);
      if (!up.response.ok) throw await upstreamFailure(name, up, messageOf);
      const t = new AnthropicStreamTranslator(ctx.model, Math.floor(Date.now() / 1000));
      return (async function* (): AsyncGenerator<StreamItem> {
        for await (const ev of parseSse(bodyStream(up))) {
          let data: Json;
          try {
            data = JSON.parse(ev.data) as Json;
          } catch {
            throw providerError("UPSTREAM_ERROR", `provider "${name}" sent a stream event that is not JSON`);
          }
          const chunks = t.feed(ev.event ?? String(data.type), data);
          for (const chunk of chunks) yield { chunk, ...(t.usage ? { usage: t.usage } : {}) };
          if ((ev.event ?? data.type) === "message_stop") break;
        }
        // Only a stream that reached message_stop has its closing usage (message_delta's output count).
        const usageChunk = t.stopped ? t.usageChunk() : null;
        if (usageChunk) yield { chunk: usageChunk, usage: t.usage!, final: true };
      })();
    },
  };
}
