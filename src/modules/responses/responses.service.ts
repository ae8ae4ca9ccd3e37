// POST /v1/responses and the stored responses behind GET, DELETE and input_items. A request is
// validated, its conversation rebuilt from the tenant's own stored responses (previous_response_id),
// and then governed exactly as a chat completion: translated to one and handed to the chat service
// (validate → resolve model → admit → ledger → provider → meter → settle), whose answer is re-told as
// a Response. A stored response is kept under the calling tenant only; another tenant's id is not
// found, exactly like an id that never existed.
import { assertCurrent, type TenantIdentity, type TenantScope } from "../../edge/tenant-scope.ts";
import { AppError } from "../../core/errors.ts";
import type { Clock } from "../../core/clock.ts";
import type { ChatService } from "../chat/chat.service.ts";
import { vetImageUrls } from "../chat/image-urls.ts";
import type { ModelsService } from "../models/models.service.ts";
import type { Json } from "../providers/provider.ts";
import { newItemId } from "./ids.ts";
import { passthroughCodec } from "./responses.passthrough.ts";
import { invalid, parseResponsesRequest, type ResponsesRequest } from "./responses.request.ts";
import { notFound, type ResponsesStore } from "./responses.store.ts";
import { responsesStream } from "./responses.stream.ts";
import { finishStatus, outputAsInput, toChatBody, toOutputItems, toResponsesUsage } from "./responses.translate.ts";

export interface ResponsesCall {
  tenant: TenantScope;
  requestId: string;
  body: unknown;
  clientSignal?: () => AbortSignal;
  requestIdHeader?: string;
}

export interface ResponsesDeps {
  clock: Clock;
  chat: ChatService;
  models: ModelsService;
  store: ResponsesStore;
  keepAliveMs: () => number;
  /** The largest body a client may send (gateway.limits.chatBodyBytes): a rebuilt conversation may not pass it. */
  maxBodyBytes: () => number;
  /** The tenant's current incarnation (for scopes that did not come from a tenant's token). */
  incarnationOf: (tenantId: string) => string | null;
}

export const MAX_PAGE = 100;

export function createResponsesService(deps: ResponsesDeps) {
  const { store, clock } = deps;

  /** The Response object's fields that echo the request. */
  function base(req: ResponsesRequest, id: string, model: string, storing: boolean): Json {
    const b = req.body;
    return {
      id,
      object: "response",
      created_at: Math.floor(clock.now() / 1000),
      status: "in_progress",
      background: false,
      error: null,
      incomplete_details: null,
      instructions: req.instructions,
      max_output_tokens: req.maxOutputTokens,
      model,
      output: [],
      parallel_tool_calls: b.parallel_tool_calls ?? true,
      previous_response_id: req.previousId,
      reasoning: { effort: (b.reasoning as Json | undefined)?.effort ?? null, summary: null },
      store: storing,
      temperature: b.temperature ?? 1,
      text: { format: (b.text as Json | undefined)?.format ?? { type: "text" } },
      tool_choice: b.tool_choice ?? "auto",
      tools: b.tools ?? [],
      top_p: b.top_p ?? 1,
      truncation: "disabled",
      usage: null,
      user: b.user ?? null,
      metadata: req.metadata,
    };
  }

  function copyHeaders(res: Response): Headers {
    const h = new Headers(res.headers);
    h.delete("content-length");
    return h;
  }

  return {
    async create(call: ResponsesCall): Promise<Response> {
      const tenantId = call.tenant.tenantId;
      const req = parseResponsesRequest(call.body);
      if (req.items.length === 0) throw invalid("input", "is required");
      const earlier = req.previousId ? store.chain(tenantId, req.previousId, deps.maxBodyBytes()) : [];
      const items = [...earlier.flatMap((r) => [...r.inputItems, ...outputAsInput(r.response.output)]), ...req.items];
      const storing = req.store && store.enabled();
      if (storing) store.checkRoom(tenantId, Buffer.byteLength(JSON.stringify(req.items)));
      const model = req.model ?? deps.models.defaultFor(call.tenant);
      // Built for every request: it also checks the options against the closed set both paths take.
      const chatBody = toChatBody(req, model, items);
      const id = newItemId("resp");
      let saved = false;
      const save = (final: Json) => {
        if (!storing || saved) return;
        saved = true;
        // A stream may outlive its tenant (deleted, and perhaps created again under the id): what it
        // answered is stored only for the incarnation that asked, while its identity still holds.
        try {
          assertCurrent(call.tenant);
        } catch {
          return;
        }
        const incarnation = (call.tenant as Partial<TenantIdentity>).incarnation ?? deps.incarnationOf(tenantId);
        if (incarnation) store.put(tenantId, incarnation, { id, previousId: req.previousId, createdAt: clock.now(), response: final, inputItems: req.items });
      };
      const target = model !== undefined ? deps.models.resolve(call.tenant, model) : null;
      if (target && target.provider.kind === "openai" && target.provider.responses === true) {
        const echo = base(req, id, target.name, storing);
        const ours = { id, model: target.name, previous_response_id: req.previousId, store: storing, metadata: req.metadata, user: echo.user, created_at: echo.created_at };
        return deps.chat.surface.governed.run(
          { tenant: call.tenant, requestId: call.requestId, model: target.name, stream: req.stream, requestedMaxTokens: req.maxOutputTokens, choices: 1, clientSignal: call.clientSignal, requestIdHeader: call.requestIdHeader },
          async (m, provider) => {
            const images = imageRefs(items);
            if (images.length > 0) await vetImageUrls(images, m.imageRules, deps.chat.surface.lookup);
            return passthroughCodec({ body: req.body, items, instructions: req.instructions, stream: req.stream, tenantId }, m, provider, deps.chat.surface.identity, ours, save);
          },
        );
      }
      const res = await deps.chat.handle({ tenant: call.tenant, requestId: call.requestId, body: chatBody, clientSignal: call.clientSignal, requestIdHeader: call.requestIdHeader });
      const headers = copyHeaders(res);

      if (!req.stream) {
        const completion = (await res.json()) as Json;
        const choice = (completion.choices as Json[] | undefined)?.[0];
        const final: Json = {
          ...base(req, id, String(completion.model ?? model), storing),
          ...finishStatus(choice?.finish_reason),
          output: toOutputItems(choice?.message as Json | undefined),
          usage: toResponsesUsage(completion.usage),
        };
        save(final);
        return new Response(JSON.stringify(final), { status: 200, headers });
      }
      if (!res.body) throw new AppError("UPSTREAM_ERROR", "the provider's stream had no body");
      return new Response(responsesStream(res.body, base(req, id, String(model ?? ""), storing), deps.keepAliveMs(), save), { status: 200, headers });
    },

    get(tenant: TenantScope, id: string): Json {
      const r = store.get(tenant.tenantId, id);
      if (!r) throw notFound(id);
      return r.response;
    },

    delete(tenant: TenantScope, id: string): Json {
      if (!store.delete(tenant.tenantId, id)) throw notFound(id);
      return { id, object: "response", deleted: true };
    },

    /** A page of a stored response's input items (newest first by default, as OpenAI). */
    inputItems(tenant: TenantScope, id: string, q: { limit?: string; order?: string; after?: string; before?: string }): Json {
      const r = store.get(tenant.tenantId, id);
      if (!r) throw notFound(id);
      const limit = q.limit === undefined ? 20 : Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw invalid("limit", `must be an integer from 1 to ${MAX_PAGE}`);
      if (q.order !== undefined && q.order !== "asc" && q.order !== "desc") throw invalid("order", 'must be "asc" or "desc"');
      let list = q.order === "asc" ? r.inputItems : [...r.inputItems].reverse();
      if (q.after !== undefined) {
        const i = list.findIndex((it) => it.id === q.after);
        if (i < 0) throw invalid("after", "is not an item of this response");
        list = list.slice(i + 1);
      }
      if (q.before !== undefined) {
        const i = list.findIndex((it) => it.id === q.before);
        if (i < 0) throw invalid("before", "is not an item of this response");
        list = list.slice(0, i);
      }
      const data = list.slice(0, limit);
      return { object: "list", data, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null, has_more: list.length > limit };
    },
  };
}

/** The image URLs of a conversation, named as the client's fields, for the same vetting chat applies. */
function imageRefs(items: Json[]): { param: string; url: string }[] {
  const out: { param: string; url: string }[] = [];
  items.forEach((it, i) => {
    if (it.type !== "message") return;
    (it.content as Json[]).forEach((p, j) => {
      if (p.type === "input_image") out.push({ param: `input[${i}].content[${j}].image_url`, url: String(p.image_url) });
    });
  });
  return out;
}

export type ResponsesService = ReturnType<typeof createResponsesService>;
