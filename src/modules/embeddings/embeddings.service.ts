// POST /v1/embeddings, governed like every LLM call (chat/governed-call.ts): the model resolved for the
// tenant, admitted against the quotas by a bound taken from the bytes sent (no tokenizer emits more
// tokens than the text has bytes; a token-id array has at least one byte per id), ledgered, and settled
// by the provider's reported prompt tokens at the model's input rate. Served by openai-kind providers
// (POST <baseUrl>/embeddings, through the model's router like chat: fallbacks, key pools); the body reaching them is rebuilt from the vetted fields, with the
// gateway's opaque id in place of the tenant's `user`.
import { AppError } from "../../core/errors.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import type { ChatService } from "../chat/chat.service.ts";
import type { ModelsService } from "../models/models.service.ts";
import type { Json } from "../providers/provider.ts";
import { openAiUsage } from "../providers/openai.provider.ts";

export const MAX_INPUTS = 2048;
const KNOWN = new Set(["model", "input", "encoding_format", "dimensions", "user"]);

const invalid = (param: string, message: string) => new AppError("INVALID_PARAMS", `${param}: ${message}`, { details: { param } });
const isTokens = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((n) => Number.isInteger(n) && n >= 0);

/** The vetted body (without model and user, which the gateway sets). */
export function parseEmbeddingsRequest(raw: unknown, defaultModel: string | undefined): { model: string; body: Json } {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new AppError("INVALID_PARAMS", "the request body must be a JSON object");
  const b: Json = {};
  for (const [k, v] of Object.entries(raw)) if (v !== null) b[k] = v;
  for (const k of Object.keys(b)) if (!KNOWN.has(k)) throw invalid(k, "is not supported by this gateway");
  const model = b.model ?? defaultModel;
  if (typeof model !== "string" || model.length === 0 || model.length > 256) throw invalid("model", "is required and must be a model name");
  const input = b.input;
  const ok =
    (typeof input === "string" && input.length > 0) ||
    isTokens(input) ||
    (Array.isArray(input) && input.length > 0 && input.length <= MAX_INPUTS && (input.every((s) => typeof s === "string" && s.length > 0) || input.every(isTokens)));
  if (!ok) throw invalid("input", `must be a non-empty string, an array of at most ${MAX_INPUTS} non-empty strings, or token arrays`);
  if (b.encoding_format !== undefined && b.encoding_format !== "float" && b.encoding_format !== "base64") throw invalid("encoding_format", 'must be "float" or "base64"');
  if (b.dimensions !== undefined && (typeof b.dimensions !== "number" || !Number.isInteger(b.dimensions) || b.dimensions < 1 || b.dimensions > 65_536)) throw invalid("dimensions", "must be an integer from 1 to 65536");
  if (b.user !== undefined && (typeof b.user !== "string" || b.user.length > 512)) throw invalid("user", "must be a string of at most 512 characters");
  const body: Json = { input };
  if (b.encoding_format !== undefined) body.encoding_format = b.encoding_format;
  if (b.dimensions !== undefined) body.dimensions = b.dimensions;
  if (b.user !== undefined) body.user = b.user;
  return { model, body };
}

export function createEmbeddingsService(deps: { chat: ChatService; models: ModelsService }) {
  return {
    async create(call: { tenant: TenantScope; requestId: string; body: unknown; requestIdHeader?: string }): Promise<Response> {
      const tenantId = call.tenant.tenantId;
      const req = parseEmbeddingsRequest(call.body, deps.models.defaultFor(call.tenant));
      return deps.chat.surface.governed.run(
        // No output: nothing is reserved beyond the input bound.
        { tenant: call.tenant, requestId: call.requestId, model: req.model, stream: false, requestedMaxTokens: 0, choices: 1, requestIdHeader: call.requestIdHeader },
        (model, provider) => {
          const post = provider.post;
          if (model.provider.kind !== "openai" || !post) throw invalid("model", `the model \`${model.name}\` does not serve embeddings`);
          const payload = JSON.stringify({ ...req.body, model: model.upstreamModel, user: deps.chat.surface.identity.user(tenantId, req.body.user) });
          return {
            prepare: () => ({ payload, images: 0, imageBytes: 0, structured: false, framingTokens: 0 }),
            async complete(upstream, ctx) {
              // Through the model's router: its deployments, key pool, retries, breakers and metrics.
              const { body: json } = await post.complete("embeddings", upstream, ctx);
              json.model = model.name;
              const usage = openAiUsage(json.usage);
              // Embeddings have no output: whatever a server reports as completion tokens is not charged as such.
              return { body: json, usage: usage ? { ...usage, outputTokens: 0, reasoningTokens: 0 } : null };
            },
            outputBytesOf: () => 0,
            stream: () => Promise.reject(new AppError("INTERNAL", "embeddings do not stream")),
            frame: () => ({ data: null, outBytes: 0 }),
            end: () => null,
            streamError: () => new Uint8Array(),
            keepAlive: () => new Uint8Array(),
          };
        },
      );
    },
  };
}

export type EmbeddingsService = ReturnType<typeof createEmbeddingsService>;
