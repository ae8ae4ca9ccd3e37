// Routing one chat completion through the governed-call core (governed-call.ts: resolve → admit →
// call → meter → settle): this file is chat's codec. What reaches the provider is vetted first
// (chat.fields.ts, image-urls.ts) and the quota bound is computed from the exact bytes sent. Streams
// are relayed chunk by chunk, with the usage chunk passed on only if the client asked for it and
// keep-alive comments while the provider is quiet.
import { AppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import { sseComment, sseData } from "../../lib/sse.ts";
import type { ResolvedModel } from "../models/models.service.ts";
import type { ChatProvider, Json, StreamItem } from "../providers/provider.ts";
import { vetChatFields } from "./chat.fields.ts";
import { outputCap, parseChatRequest, type ChatRequest } from "./chat.model.ts";
import { createGovernedCalls, type GovernedCall, type GovernedDeps, type SurfaceCodec } from "./governed-call.ts";
import { vetImageUrls, type Lookup } from "./image-urls.ts";
import { outputBytes } from "./metering.ts";
import type { ProviderIdentity } from "./provider-identity.ts";

export type { Settled } from "./governed-call.ts";

/** The governed-call core's dependencies (clock, models, overlays, providers, quotas, ledger, keep-alive, headers), and chat's own. */
export interface ChatDeps extends GovernedDeps {
  log: Logger;
  /** The opaque per-tenant ids providers see instead of anything the tenant chose. */
  identity: ProviderIdentity;
  /** DNS for vetting https:// image URLs (tests stand in for it). */
  lookup?: Lookup;
  /** When this gateway started: the `created` of the models it lists. */
  startedAt: number;
}

/**
 * One chat completion: the request body, and the call's context as the governed-call core takes it
 * (tenant, request id, the client's disconnect signal for streams, an agent run's session key and run
 * id, `onSettled` told the charge, an internal caller's abort `signal`).
 */
export type ChatCall = Omit<GovernedCall, "model" | "stream" | "requestedMaxTokens" | "choices"> & { body: unknown; sink?: ChunkSink };

/**
 * An in-process caller's way to take a stream's chunks as objects (the agent loop reads its own model
 * call): each chunk goes to `chunk` instead of being serialized as SSE for the caller to parse back,
 * and a failure mid-stream to `error`. The body then carries one empty frame per chunk (the caller
 * still reads it, so a reader that stops cancels the call as an HTTP client's disconnect does) and
 * metering is the same as for any stream.
 */
export interface ChunkSink {
  chunk(chunk: Json): void;
  error(e: AppError): void;
}

const EMPTY = new Uint8Array(0);

/** The agent runtime's part of the /v1 surface (models named `openclaw/<agentId>`), plugged in by the agents module. */
export interface AgentSurface {
  /** Whether this request's model names an agent. */
  claims(model: unknown): boolean;
  handle(call: ChatCall & { sessionKeyHeader?: string | null }): Promise<Response>;
  /** The tenant's agents as model ids. */
  models(tenant: TenantScope): string[];
}

export function createChatService(deps: ChatDeps) {
  const governed = createGovernedCalls(deps);

  /** The body for the provider: upstream model, our output cap, and our ids in place of the tenant's. */
  function upstreamBody(req: ChatRequest, model: ResolvedModel, tenantId: string, maxOut: number): Json {
    const body: Json = { ...req.body, model: model.upstreamModel };
    delete body.max_tokens;
    delete body.max_completion_tokens;
    const cap = outputCap(req, model, maxOut);
    if (cap) body[cap.field] = cap.value;
    if (!req.stream) delete body.stream_options;
    body.user = deps.identity.user(tenantId, req.body.user);
    if (typeof req.body.safety_identifier === "string") body.safety_identifier = deps.identity.user(tenantId, req.body.safety_identifier);
    if (typeof req.body.prompt_cache_key === "string") body.prompt_cache_key = deps.identity.cacheKey(tenantId, req.body.prompt_cache_key);
    return body;
  }

  /** Chat's codec for one request, once the model is known: the fields vetted for its provider kind. */
  async function bindChat(req: ChatRequest, tenantId: string, model: ResolvedModel, provider: ChatProvider, sink?: ChunkSink): Promise<SurfaceCodec> {
    if (req.choices > 1 && model.provider.kind === "anthropic") throw new AppError("INVALID_PARAMS", "n: more than one choice is not supported by this model", { details: { param: "n" } });
    const images = vetChatFields(req.body, model.provider.kind, model.passthrough);
    if (images.length > 0) await vetImageUrls(images, model.imageRules, deps.lookup);
    return {
      prepare: (maxOut) => provider.prepare(upstreamBody(req, model, tenantId, maxOut), req.stream),
      // Rejected prediction tokens are billed as output.
      promptAtOutputRate: req.body.prediction !== undefined,
      complete: (upstream, ctx) => provider.complete(upstream, ctx),
      outputBytesOf: (body) => outputBytes((body as Json).choices, "message"),
      stream: (upstream, ctx) => provider.stream(upstream, ctx),
      frame: (item: StreamItem) => {
        const chunk = item.chunk;
        if (!chunk) return { data: null, outBytes: 0 };
        const choices = chunk.choices as Json[] | undefined;
        const outBytes = outputBytes(choices, "delta");
        if (sink) {
          sink.chunk(chunk);
          return { data: EMPTY, outBytes };
        }
        if (!req.includeUsage) {
          if (Array.isArray(choices) && choices.length === 0) return { data: null, outBytes }; // the usage-only chunk
          delete chunk.usage;
        }
        return { data: sseData(chunk), outBytes };
      },
      end: () => (sink ? null : sseData("[DONE]")),
      streamError: (e: AppError) => {
        if (sink) {
          sink.error(e);
          return EMPTY;
        }
        const type = e.code === "UPSTREAM_TIMEOUT" ? "timeout" : "api_error";
        return sseData({ error: { message: e.message, type, code: e.code.toLowerCase(), param: null } });
      },
      keepAlive: () => sseComment("keep-alive"),
    };
  }

  let agentSurface: AgentSurface | null = null;

  return {
    startedAt: deps.startedAt,
    /** What the other LLM surfaces (messages, responses) build on: the governed-call core, the provider identity, DNS for image URLs. */
    surface: { governed, identity: deps.identity, lookup: deps.lookup },

    /** The agents module plugs its `openclaw/<agentId>` models in here (it is built after chat). */
    useAgents(surface: AgentSurface): void {
      agentSurface = surface;
    },
    get agents(): AgentSurface | null {
      return agentSurface;
    },

    async handle(call: ChatCall): Promise<Response> {
      const tenantId = call.tenant.tenantId;
      const req = parseChatRequest(call.body, deps.models.defaultFor(call.tenant));
      return governed.run(
        { ...call, model: req.model, stream: req.stream, requestedMaxTokens: req.requestedMaxTokens, choices: req.choices },
        (model, provider) => bindChat(req, tenantId, model, provider, call.sink),
      );
    },
  };
}

export type ChatService = ReturnType<typeof createChatService>;
