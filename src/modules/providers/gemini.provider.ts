// Kind "gemini": Google's Gemini API, natively — `POST <baseUrl>/models/<model>:generateContent` and
// `:streamGenerateContent?alt=sse`, the key in `x-goog-api-key` — with requests and responses
// translated from and to chat completions (see gemini.translate.ts).
import type { GatewayConfig } from "../../config/schema.ts";
import { toolFraming } from "./blocks.ts";
import { fromGeminiResponse, GeminiStreamTranslator, toGeminiRequest } from "./gemini.translate.ts";
import { countImages, jsonEvents, readJson, upstreamFailure, upstreamFetch, type ChatProvider, type Json, type StreamItem, type UpstreamRequest } from "./provider.ts";

type ProviderConfig = GatewayConfig["providers"][string];

interface GeminiRequest extends UpstreamRequest {
  /** The upstream model: part of the URL, not of the body. */
  model: string;
}

const messageOf = (b: unknown) => (b as { error?: { message?: string } })?.error?.message;

const imageData = (part: Json): string | null => ((part.inlineData as Json | undefined) ? String((part.inlineData as Json).data ?? "") : null);

export function modelUrl(baseUrl: string, model: string, stream: boolean): string {
  const base = baseUrl.replace(/\/+$/, "");
  const path = /^(models|tunedModels)\//.test(model) ? model : `models/${model}`;
  return `${base}/${path}:${stream ? "streamGenerateContent?alt=sse" : "generateContent"}`;
}

export function prepareGemini(body: Json, _stream: boolean): GeminiRequest {
  const req = toGeminiRequest(body, Number(body.max_completion_tokens ?? body.max_tokens));
  const contents = (req.contents as Json[]).map((c) => ({ content: c.parts }));
  const parts = contents.flatMap((c) => c.content as Json[]);
  const declared = ((req.tools as Json[] | undefined)?.[0]?.functionDeclarations as Json[] | undefined)?.length ?? 0;
  return {
    payload: JSON.stringify(req),
    ...countImages(contents, imageData),
    structured: req.tools !== undefined || (req.generationConfig as Json).responseMimeType !== undefined,
    framingTokens: toolFraming(declared, parts.filter((p) => p.functionCall).map((p) => (p.functionCall as Json).args), parts.filter((p) => p.functionResponse).length),
    model: String(body.model),
  };
}

export function createGeminiProvider(name: string, cfg: ProviderConfig): ChatProvider {
  const headers: Record<string, string> = { "content-type": "application/json", ...(cfg.headers ?? {}) };
  if (cfg.apiKey) headers["x-goog-api-key"] = cfg.apiKey;

  return {
    prepare: prepareGemini,

    async complete(req, ctx) {
      const url = modelUrl(cfg.baseUrl, (req as GeminiRequest).model, false);
      const up = await upstreamFetch(name, url, { method: "POST", headers: { ...headers, accept: "application/json" }, body: req.payload }, ctx);
      if (!up.response.ok) throw await upstreamFailure(name, up, messageOf);
      return fromGeminiResponse(await readJson(name, up), ctx.model, Math.floor(Date.now() / 1000));
    },

    async stream(req, ctx) {
      const url = modelUrl(cfg.baseUrl, (req as GeminiRequest).model, true);
      const up = await upstreamFetch(name, url, { method: "POST", headers: { ...headers, accept: "text/event-stream" }, body: req.payload }, ctx);
      if (!up.response.ok) throw await upstreamFailure(name, up, messageOf);
      const t = new GeminiStreamTranslator(ctx.model, Math.floor(Date.now() / 1000));
      return (async function* (): AsyncGenerator<StreamItem> {
        for await (const { data } of jsonEvents(name, up)) {
          for (const chunk of t.feed(data)) yield { chunk, ...(t.usage ? { usage: t.usage } : {}) };
        }
        // Usage arrives with every response, cumulative; only a stream whose candidates all finished
        // has given its closing count (a cut one is charged by the chat layer's cut rules).
        const usageChunk = t.finished ? t.usageChunk() : null;
        if (usageChunk) yield { chunk: usageChunk, usage: t.usage!, final: true };
      })();
    },
  };
}
