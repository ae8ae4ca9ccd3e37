// The agents on the OpenAI-compatible surface: POST /v1/chat/completions with model
// "openclaw/<agentId>" runs a turn of that agent and answers with its final text (JSON, or
// chat.completion.chunk SSE when `stream` is set). The session is the `x-openclaw-session-key`
// header's, else a fresh one (`oai-…`) per call; the session holds the history, so only the last user
// message of `messages` is the turn's input. The turn goes on if the client goes away.
import { AppError, ERROR_TABLE, type ErrorCode } from "../../core/errors.ts";
import type { TenantIdentity, TenantScope } from "../../edge/tenant-scope.ts";
import { sseData } from "../../lib/sse.ts";
import type { AgentSurface } from "../chat/chat.service.ts";
import type { EventsService } from "../events/events.service.ts";
import type { RunEnd } from "./agent-loop.ts";
import type { RunsService } from "./runs.service.ts";
import { checkSessionKey, PER_CALL_PREFIX } from "./sessions.service.ts";

const PREFIX = "openclaw/";
const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };
const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" };

function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) throw new AppError("INVALID_PARAMS", "messages must be a non-empty array", { details: { param: "messages" } });
  const last = [...messages].reverse().find((m) => m && typeof m === "object" && (m as { role?: unknown }).role === "user") as { content?: unknown } | undefined;
  const c = last?.content;
  const text = typeof c === "string" ? c : Array.isArray(c) ? c.map((p) => (p && typeof p === "object" && (p as { type?: unknown }).type === "text" ? String((p as { text?: unknown }).text ?? "") : "")).join("") : "";
  if (!text) throw new AppError("INVALID_PARAMS", "messages must end with a user message with text (the agent's session holds the history)", { details: { param: "messages" } });
  return text;
}

/** A run that did not end with an answer, as the error the OpenAI surface returns. */
function endError(end: RunEnd): AppError {
  const code = end.error?.code ?? "INTERNAL";
  const known = (code in ERROR_TABLE ? code : "UNAVAILABLE") as ErrorCode;
  return new AppError(known, end.error?.message ?? "the run ended without an answer", { details: { stopReason: end.stopReason } });
}

export function createAgentSurface(deps: { runs: RunsService; events: EventsService; responseHeaders?: Record<string, string> }): AgentSurface {
  const { runs, events } = deps;
  return {
    claims: (model) => typeof model === "string" && model.startsWith(PREFIX),

    models(tenant: TenantScope) {
      try {
        return runs.agents(tenant).map((a) => `${PREFIX}${a.id}`);
      } catch {
        return []; // an overlay that does not validate: its agents are not offered
      }
    },

    async handle(call) {
      const body = (call.body ?? {}) as Record<string, unknown>;
      const agentId = String(body.model).slice(PREFIX.length);
      const identity = call.tenant as TenantScope & Partial<TenantIdentity>;
      const message = lastUserText(body.messages);
      const sessionKey = call.sessionKeyHeader ? checkSessionKey(call.sessionKeyHeader) : `${PER_CALL_PREFIX}${crypto.randomUUID()}`;
      if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(agentId)) throw new AppError("NOT_FOUND", `The model \`${String(body.model).slice(0, 200)}\` does not exist or you do not have access to it.`, { details: { param: "model" } });
      runs.agentFor(identity, agentId);
      const op = { actor: identity.actor ?? { kind: "tenant" as const, id: identity.tenantId }, requestId: call.requestId };
      const created = Math.floor(Date.now() / 1000);
      const headers = { ...deps.responseHeaders, "x-openclaw-session-key": sessionKey, ...(call.requestIdHeader ? { "x-request-id": call.requestIdHeader } : {}) };
      const usageOf = (e: RunEnd) => ({ prompt_tokens: e.usage.inputTokens, completion_tokens: e.usage.outputTokens, total_tokens: e.usage.inputTokens + e.usage.outputTokens });

      if (body.stream !== true) {
        const { runId, done, durable } = runs.send(identity, { sessionKey, agentId, message }, op);
        // The session's creation and the run's row reach the disk while the turn runs; both before the answer.
        const [end] = await Promise.all([done!, durable]);
        if (end.status !== "ok") throw endError(end);
        const answer = { id: `chatcmpl-${runId}`, object: "chat.completion", created, model: body.model, choices: [{ index: 0, message: { role: "assistant", content: end.text ?? "" }, finish_reason: "stop", logprobs: null }], usage: usageOf(end) };
        return new Response(JSON.stringify(answer), { headers: { ...JSON_HEADERS, ...headers } });
      }

      const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
      const { runId, done, durable } = runs.send(identity, { sessionKey, agentId, message }, op);
      const id = `chatcmpl-${runId}`;
      const chunk = (delta: Record<string, unknown>, finish: string | null = null) => sseData({ id, object: "chat.completion.chunk", created, model: body.model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
      // Listening from the start (the run is already going); what comes before the stream opens waits here.
      const early: Uint8Array[] = [];
      let sink: ((b: Uint8Array) => void) | null = null;
      const unsubscribe = events.subscribe(identity, (ev) => {
        if (ev.runId !== runId || ev.method !== "chat.delta") return;
        const b = chunk({ content: String(ev.params.delta ?? "") });
        if (sink) sink(b);
        else early.push(b);
      });
      try {
        await durable; // the session's creation and the run's row are on disk before the first byte names them
      } catch (err) {
        unsubscribe();
        throw err;
      }
      let open = true;
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          const send = (b: Uint8Array) => {
            if (open) controller.enqueue(b);
          };
          send(chunk({ role: "assistant", content: "" }));
          for (const b of early.splice(0)) send(b);
          sink = send;
          void done!.then((end) => {
            unsubscribe();
            if (end.status === "ok") {
              send(chunk({}, "stop"));
              if (includeUsage) send(sseData({ id, object: "chat.completion.chunk", created, model: body.model, choices: [], usage: usageOf(end) }));
            } else {
              const e = endError(end);
              send(sseData({ error: { message: e.message, type: "api_error", code: e.code.toLowerCase(), param: null } }));
            }
            send(sseData("[DONE]"));
            if (open) controller.close();
            open = false;
          });
        },
        cancel() {
          // The client left: the run goes on (it is in the session); only this stream ends.
          open = false;
          unsubscribe();
        },
      });
      return new Response(stream, { headers: { ...SSE_HEADERS, ...headers } });
    },
  };
}
