// Kind "bedrock": Amazon Bedrock's Converse and ConverseStream through the official AWS SDK
// (@aws-sdk/client-bedrock-runtime), signed with SigV4 by the keys in the gateway config — never the
// SDK's ambient credential chain (environment, profiles, instance metadata) — at `baseUrl` (the
// regional endpoint, or a stand-in in tests). Requests and responses are translated from and to
// chat completions (bedrock.translate.ts). The SDK retries nothing: a failure is the caller's to see.
// The SDK is loaded on the first call, so gateways without a bedrock model never load it.
import type { BedrockRuntimeClient, ConverseStreamCommandOutput } from "@aws-sdk/client-bedrock-runtime";
import type { GatewayConfig } from "../../config/schema.ts";
import { AppError } from "../../core/errors.ts";
import { toolFraming } from "./blocks.ts";
import { ConverseStreamTranslator, fromConverseResponse, toConverseRequest } from "./bedrock.translate.ts";
import { ClientGone, countImages, failureFor, providerError, type CallContext, type ChatProvider, type Json, type StreamItem, type UpstreamRequest } from "./provider.ts";

type ProviderConfig = GatewayConfig["providers"][string];
type Sdk = typeof import("@aws-sdk/client-bedrock-runtime");

interface BedrockRequest extends UpstreamRequest {
  /** The upstream model id: part of the URL, not of the body. */
  modelId: string;
}

const imageData = (part: Json): string | null => (part.image ? String((((part.image as Json).source ?? {}) as Json).bytes ?? "") : null);

export function prepareBedrock(body: Json, _stream: boolean): BedrockRequest {
  const req = toConverseRequest(body, Number(body.max_completion_tokens ?? body.max_tokens));
  const blocks = (req.messages as Json[]).flatMap((m) => m.content as Json[]);
  const tools = (((req.toolConfig as Json | undefined)?.tools as Json[] | undefined) ?? []).length;
  const framing = toolFraming(tools, blocks.filter((b) => b.toolUse).map((b) => (b.toolUse as Json).input), blocks.filter((b) => b.toolResult).length);
  return { payload: JSON.stringify(req), ...countImages(req.messages, imageData), structured: req.toolConfig !== undefined, framingTokens: framing, modelId: String(body.model) };
}

/** The SDK's command input: the payload with image bytes decoded (the SDK base64-encodes them again). */
function commandInput(req: BedrockRequest): Json {
  const input = JSON.parse(req.payload) as Json;
  for (const m of input.messages as Json[]) {
    for (const b of m.content as Json[]) {
      const source = (b.image as Json | undefined)?.source as Json | undefined;
      if (source) source.bytes = Buffer.from(String(source.bytes), "base64");
    }
  }
  return { modelId: req.modelId, ...input };
}

class Silent extends Error {}

/** The provider's timeoutMs as an idle watchdog over the SDK call: before the answer, and between stream events. */
function watchdog(ctx: CallContext) {
  let timer: Timer | null = null;
  return {
    arm() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => ctx.controller.abort(new Silent()), ctx.timeoutMs);
    },
    disarm() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}

/** An SDK failure as the tenant sees it: the same mapping as the HTTP providers' (provider.ts). */
function failure(name: string, ctx: CallContext, err: unknown): Error {
  const reason = ctx.controller.signal.reason;
  if (reason instanceof ClientGone) return reason;
  if (reason instanceof Silent) return providerError("UPSTREAM_TIMEOUT", `provider "${name}" sent nothing for ${Math.round(ctx.timeoutMs / 1000)}s`);
  if (err instanceof AppError) return err;
  const e = err as { $metadata?: { httpStatusCode?: number }; message?: string; code?: string; name?: string };
  const status = e?.$metadata?.httpStatusCode;
  if (status && status >= 400) return failureFor(name, status, e.message, undefined);
  // An exception event inside ConverseStream (the SDK throws it): the provider failed mid-stream.
  if (typeof e?.name === "string" && e.name.endsWith("Exception")) {
    return providerError(/^(ServiceUnavailable|Throttling)/.test(e.name) ? "UNAVAILABLE" : "UPSTREAM_ERROR", `provider "${name}" failed mid-stream: ${String(e.message ?? e.name).slice(0, 300)}`);
  }
  return providerError("UPSTREAM_ERROR", `could not reach provider "${name}"${e?.code ? ` (${e.code})` : ""}`);
}

export function createBedrockProvider(name: string, cfg: ProviderConfig): ChatProvider {
  let loaded: Promise<{ sdk: Sdk; client: BedrockRuntimeClient }> | null = null;
  const sdk = () =>
    (loaded ??= Promise.all([import("@aws-sdk/client-bedrock-runtime"), import("@smithy/node-http-handler")]).then(([sdk, http]) => {
      const client = new sdk.BedrockRuntimeClient({
        // HTTP/1.1: Converse and ConverseStream need nothing more (the SDK's default HTTP/2 handler is
        // for bidirectional streams), and Bun's node:http is the path the S3 client already takes.
        requestHandler: new http.NodeHttpHandler(),
        region: cfg.region,
        endpoint: cfg.baseUrl,
        credentials: { accessKeyId: cfg.accessKeyId ?? "", secretAccessKey: cfg.secretAccessKey ?? "", ...(cfg.sessionToken ? { sessionToken: cfg.sessionToken } : {}) },
        maxAttempts: 1,
      });
      const extra = cfg.headers ?? {};
      // Operator headers are added before signing, so they are signed too.
      if (Object.keys(extra).length) client.middlewareStack.add((next) => (args) => (Object.assign((args.request as { headers: Record<string, string> }).headers, extra), next(args)), { step: "build" });
      return { sdk, client };
    }));
  const idOf = (meta: { requestId?: string } | undefined) => `chatcmpl-${meta?.requestId ?? crypto.randomUUID()}`;

  return {
    prepare: prepareBedrock,

    async complete(req, ctx) {
      const { sdk: s, client } = await sdk();
      if (ctx.controller.signal.aborted) throw new ClientGone();
      const dog = watchdog(ctx);
      dog.arm();
      try {
        const out = await client.send(new s.ConverseCommand(commandInput(req as BedrockRequest) as never), { abortSignal: ctx.controller.signal });
        return fromConverseResponse(out as unknown as Json, ctx.model, Math.floor(Date.now() / 1000), idOf(out.$metadata));
      } catch (err) {
        throw failure(name, ctx, err);
      } finally {
        dog.disarm();
      }
    },

    async stream(req, ctx) {
      const { sdk: s, client } = await sdk();
      if (ctx.controller.signal.aborted) throw new ClientGone();
      const dog = watchdog(ctx);
      dog.arm();
      let out: ConverseStreamCommandOutput;
      try {
        out = await client.send(new s.ConverseStreamCommand(commandInput(req as BedrockRequest) as never), { abortSignal: ctx.controller.signal });
      } catch (err) {
        dog.disarm();
        throw failure(name, ctx, err);
      }
      const t = new ConverseStreamTranslator(ctx.model, Math.floor(Date.now() / 1000), idOf(out.$metadata));
      const events = out.stream;
      return (async function* (): AsyncGenerator<StreamItem> {
        try {
          if (!events) return;
          const it = events[Symbol.asyncIterator]();
          for (;;) {
            dog.arm();
            let r: IteratorResult<unknown>;
            try {
              r = await it.next();
            } catch (err) {
              throw failure(name, ctx, err);
            }
            dog.disarm();
            if (r.done) break;
            for (const chunk of t.feed(r.value as Json)) yield { chunk, ...(t.usage ? { usage: t.usage } : {}) };
          }
          // Converse's closing usage is the metadata event after messageStop.
          const usageChunk = t.done ? t.usageChunk() : null;
          if (usageChunk) yield { chunk: usageChunk, usage: t.usage!, final: true };
        } finally {
          dog.disarm();
        }
      })();
    },
  };
}
