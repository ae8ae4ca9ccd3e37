// Kind "anthropic": the Messages API, with requests and responses translated from and to chat
// completions (see anthropic.translate.ts).
import type { GatewayConfig } from "../../config/schema.ts";
import { framingTokens } from "./anthropic.tools.ts";
import { AnthropicStreamTranslator, anthropicUsage, fromAnthropicResponse, jsonToolOf, toAnthropicRequest } from "./anthropic.translate.ts";
import { countImages, jsonEvents, readJson, providerError, readAll, upstreamFailure, upstreamFetch, type ChatProvider, type Json, type StreamItem, type UpstreamRequest } from "./provider.ts";

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
  const jsonTool = jsonToolOf(body);
  return { payload: JSON.stringify(req), ...countImages(req.messages, imageData), structured: req.tools !== undefined, framingTokens: framingTokens(req), ...(jsonTool ? { jsonTool } : {}) };
}

export function createAnthropicProvider(name: string, cfg: ProviderConfig): ChatProvider {
  const url = messagesUrl(cfg.baseUrl);
  const headers: Record<string, string> = { "content-type": "application/json", "anthropic-version": ANTHROPIC_VERSION, ...(cfg.headers ?? {}) };
  if (cfg.apiKey) headers["x-api-key"] = cfg.apiKey;

  const post = async (target: string, req: UpstreamRequest, ctx: Parameters<ChatProvider["complete"]>[1], accept = "application/json") => {
    const up = await upstreamFetch(name, target, { method: "POST", headers: { ...headers, ...(req.headers ?? {}), accept }, body: req.payload }, ctx);
    if (!up.response.ok) throw await upstreamFailure(name, up, messageOf);
    return up;
  };
  const json = async (up: Awaited<ReturnType<typeof post>>): Promise<Json> => {
    try {
      const v = JSON.parse(await readAll(up)) as unknown;
      if (v && typeof v === "object" && !Array.isArray(v)) return v as Json;
    } catch {
      // below
    }
    throw providerError("UPSTREAM_ERROR", `provider "${name}" answered with something that is not a JSON object`);
  };

  return {
    prepare: prepareAnthropic,

    messages: {
      async complete(req, ctx) {
        const msg = await json(await post(url, req, ctx));
        msg.model = ctx.model;
        return { body: msg, usage: msg.usage ? anthropicUsage(msg.usage) : null };
      },
      async countTokens(req, ctx) {
        return json(await post(`${url}/count_tokens`, req, ctx));
      },
      async stream(req, ctx) {
        const up = await post(url, req, ctx, "text/event-stream");
        return (async function* (): AsyncGenerator<StreamItem> {
          const raw: Record<string, number> = {};
          for await (const { type, data } of jsonEvents(name, up)) {
            if (type === "error") {
              const e = (data.error ?? {}) as Json;
              throw providerError(e.type === "overloaded_error" ? "UNAVAILABLE" : "UPSTREAM_ERROR", `provider failed mid-stream: ${String(e.message ?? e.type ?? "error")}`);
            }
            if (data.type === undefined) data.type = type;
            const u = type === "message_start" ? ((data.message as Json | undefined)?.usage as Json | undefined) : type === "message_delta" ? (data.usage as Json | undefined) : undefined;
            if (type === "message_start" && data.message && typeof data.message === "object") (data.message as Json).model = ctx.model;
            if (u && typeof u === "object") for (const [k, v] of Object.entries(u)) if (typeof v === "number") raw[k] = v;
            const seen = Object.keys(raw).length > 0;
            // Only message_stop makes the usage the closing count (message_start's is partial).
            const stop = type === "message_stop";
            yield { chunk: data, ...(seen ? { usage: anthropicUsage(raw) } : {}), ...(stop && seen ? { final: true } : {}) };
            if (stop) break;
          }
        })();
      },
    },

    async complete(req, ctx) {
      const up = await upstreamFetch(name, url, { method: "POST", headers, body: req.payload }, ctx);
      if (!up.response.ok) throw await upstreamFailure(name, up, messageOf);
      const msg = await readJson(name, up);
      return fromAnthropicResponse(msg, ctx.model, Math.floor(Date.now() / 1000), req.jsonTool);
    },

    async stream(req, ctx) {
      const up = await upstreamFetch(name, url, { method: "POST", headers: { ...headers, accept: "text/event-stream" }, body: req.payload }, ctx);
      if (!up.response.ok) throw await upstreamFailure(name, up, messageOf);
      const t = new AnthropicStreamTranslator(ctx.model, Math.floor(Date.now() / 1000), req.jsonTool ?? null);
      return (async function* (): AsyncGenerator<StreamItem> {
        for await (const { type, data } of jsonEvents(name, up)) {
          const chunks = t.feed(type, data);
          for (const chunk of chunks) yield { chunk, ...(t.usage ? { usage: t.usage } : {}) };
          if (type === "message_stop") break;
        }
        // Only a stream that reached message_stop has its closing usage (message_delta's output count).
        const usageChunk = t.stopped ? t.usageChunk() : null;
        if (usageChunk) yield { chunk: usageChunk, usage: t.usage!, final: true };
      })();
    },
  };
}
