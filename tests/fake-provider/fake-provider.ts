// A stand-in LLM provider speaking the real OpenAI Chat Completions and Anthropic Messages wire
// formats (JSON and SSE, usage in the final chunk, error envelopes), for tests and benchmarks.
// Behaviour is chosen by directives in the last user message:
//   [[words:N]]        answer with N words (capped by max_tokens)        default 5
//   [[slow:MS]]        wait MS between stream chunks (and before a JSON answer)
//   [[error:STATUS]]   answer STATUS with the provider's error envelope
//   [[midstream-fail]] send two chunks, then drop the connection
//   [[hang]]           accept the request and never answer
//   [[tools]]          answer with a tool call to "get_weather" (both wire formats, JSON and SSE)
//   [[cache:R:W]]      report R cache-read and W cache-write prompt tokens
//   [[no-usage]]       never report usage
// POST …/messages/count_tokens answers {input_tokens} with the prompt's word count.
// POST …/responses and …/embeddings are answered by ./responses-api.ts.
// Prompt tokens are the words of every message's text; completion tokens the words generated.
// `fake.fault(...)` queues faults for the next requests whatever they hold (routing's fault injection):
//   { status, retryAfter? }  answer STATUS with the error envelope   "stream-cut"  a stream's headers, then a cut before any event
//   "midstream"              as [[midstream-fail]]                   "hang"        as [[hang]]
// `fake.script(...)` (./script.ts) queues scripted answers — text and tool calls, in both wire formats —
// which take precedence over the directives while any is queued.
import { fakeEmbeddings, fakeResponses } from "./responses-api.ts";
import { createScripts, renderAnthropic, renderOpenAi, type ScriptStep } from "./script.ts";

export type { ScriptStep };

export interface RecordedRequest {
  path: string;
  headers: Record<string, string>;
  body: any;
  /** Set when the gateway closed the connection before the answer was complete. */
  aborted: boolean;
}

interface Plan {
  words: number;
  slowMs: number;
  error: number | null;
  midstreamFail: boolean;
  hang: boolean;
  tools: boolean;
  cacheRead: number;
  cacheWrite: number;
  noUsage: boolean;
  promptTokens: number;
}

const enc = new TextEncoder();

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => (p && typeof p === "object" && typeof (p as any).text === "string" ? (p as any).text : typeof (p as any)?.content === "string" ? (p as any).content : "")).join(" ");
  return "";
}

export function plan(body: any, maxTokens: number | undefined): Plan {
  const msgs: any[] = Array.isArray(body.messages) ? body.messages : [];
  const lastUser = [...msgs].reverse().find((m) => m.role === "user");
  const directive = textOf(lastUser?.content);
  const num = (re: RegExp, def: number) => {
    const m = re.exec(directive);
    return m ? Number(m[1]) : def;
  };
  const cache = /\[\[cache:(\d+):(\d+)\]\]/.exec(directive);
  const allText = [typeof body.system === "string" ? body.system : "", ...msgs.map((m) => textOf(m.content))].join(" ");
  const promptTokens = allText.split(/\s+/).filter(Boolean).length;
  const words = Math.min(num(/\[\[words:(\d+)\]\]/, 5), maxTokens ?? Number.POSITIVE_INFINITY);
  return {
    words,
    slowMs: num(/\[\[slow:(\d+)\]\]/, 0),
    error: /\[\[error:(\d+)\]\]/.test(directive) ? num(/\[\[error:(\d+)\]\]/, 500) : null,
    midstreamFail: directive.includes("[[midstream-fail]]"),
    hang: directive.includes("[[hang]]"),
    tools: directive.includes("[[tools]]"),
    cacheRead: cache ? Number(cache[1]) : 0,
    cacheWrite: cache ? Number(cache[2]) : 0,
    noUsage: directive.includes("[[no-usage]]"),
    promptTokens,
  };
}

const wordAt = (i: number) => `w${i}`;
const sleep = (ms: number) => (ms > 0 ? Bun.sleep(ms) : Promise.resolve());

export function sse(lines: () => AsyncGenerator<string>, signal: AbortSignal): Response {
  const it = lines();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (signal.aborted) return controller.close();
      let r: IteratorResult<string>;
      try {
        r = await it.next();
      } catch {
        // A simulated failure: cut the connection mid-stream.
        controller.error();
        return;
      }
      if (r.done) controller.close();
      else controller.enqueue(enc.encode(r.value));
    },
    cancel() {
      void it.return(undefined);
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
}

function openAiError(status: number): Response {
  const type = status === 429 ? "rate_limit_exceeded" : status === 401 ? "invalid_api_key" : status >= 500 ? "server_error" : "invalid_request_error";
  return Response.json({ error: { message: `fake provider error ${status}`, type, param: null, code: type } }, { status, headers: status === 429 ? { "retry-after": "7" } : {} });
}

function anthropicError(status: number): Response {
  const type = status === 429 ? "rate_limit_error" : status === 401 ? "authentication_error" : status === 529 ? "overloaded_error" : status >= 500 ? "api_error" : "invalid_request_error";
  return Response.json({ type: "error", error: { type, message: `fake provider error ${status}` } }, { status });
}

export function openAi(body: any, signal: AbortSignal): Response | Promise<Response> {
  const p = plan(body, body.max_completion_tokens ?? body.max_tokens);
  if (p.error) return openAiError(p.error);
  const created = Math.floor(Date.now() / 1000);
  const id = `chatcmpl-fake${Math.random().toString(36).slice(2, 10)}`;
  const usage = {
    prompt_tokens: p.promptTokens + p.cacheRead + p.cacheWrite,
    completion_tokens: p.tools ? 12 : p.words,
    total_tokens: p.promptTokens + p.cacheRead + p.cacheWrite + (p.tools ? 12 : p.words),
    prompt_tokens_details: { cached_tokens: p.cacheRead, ...(p.cacheWrite ? { cache_write_tokens: p.cacheWrite } : {}) },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
  const toolCall = { id: "call_fake1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } };
  if (!body.stream) {
    const message = p.tools ? { role: "assistant", content: null, tool_calls: [toolCall] } : { role: "assistant", content: Array.from({ length: p.words }, (_, i) => wordAt(i)).join(" ") };
    const answer = { id, object: "chat.completion", created, model: body.model, choices: [{ index: 0, message, finish_reason: p.tools ? "tool_calls" : "stop", logprobs: null }], ...(p.noUsage ? {} : { usage }) };
    if (p.hang) return new Promise<Response>(() => {});
    return p.slowMs ? sleep(p.slowMs).then(() => Response.json(answer)) : Response.json(answer);
  }
  const includeUsage = body.stream_options?.include_usage === true;
  const chunk = (delta: any, finish: string | null = null, extra: any = {}) =>
    `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: body.model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }], ...(includeUsage ? { usage: null } : {}), ...extra })}\n\n`;
  return sse(
    async function* () {
      if (p.hang) await new Promise(() => {});
      yield chunk({ role: "assistant", content: "" });
      if (p.tools) {
        yield chunk({ tool_calls: [{ index: 0, id: toolCall.id, type: "function", function: { name: "get_weather", arguments: "" } }] });
        yield chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] });
        yield chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] });
        yield chunk({}, "tool_calls");
      } else {
        for (let i = 0; i < p.words; i++) {
          await sleep(p.midstreamFail ? Math.max(p.slowMs, 30) : p.slowMs);
          if (p.midstreamFail && i === 2) throw new Error("midstream failure");
          yield chunk({ content: `${i ? " " : ""}${wordAt(i)}` });
        }
        if (p.midstreamFail) throw new Error("midstream failure");
        yield chunk({}, "stop");
      }
      if (includeUsage && !p.noUsage) yield `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: body.model, choices: [], usage })}\n\n`;
      yield "data: [DONE]\n\n";
    },
    signal,
  );
}

/**
 * What the real Messages API refuses about tools and turns (so a translation that breaks it fails
 * here as it would there): alternating turns starting with the user, tool names and ids in their
 * patterns, every tool_use answered by a tool_result first in the next user turn, a named tool_choice
 * among the tools.
 */
function anthropicContractError(body: any): string | null {
  const NAME = /^[a-zA-Z0-9_-]{1,64}$/;
  const ID = /^[a-zA-Z0-9_-]+$/;
  const tools: any[] = body.tools ?? [];
  if (tools.some((t) => !NAME.test(t?.name) || typeof t?.input_schema !== "object")) return "tools: each needs a name matching ^[a-zA-Z0-9_-]{1,64}$ and an input_schema";
  if (body.tool_choice?.type === "tool" && !tools.some((t) => t.name === body.tool_choice.name)) return "tool_choice: names a tool that is not in tools";
  if (body.tool_choice && tools.length === 0 && body.tool_choice.type !== "none" && body.tool_choice.type !== "auto") return "tool_choice: requires tools";
  let open: string[] = [];
  for (const [i, m] of (body.messages ?? []).entries()) {
    if (m.role !== (i % 2 === 0 ? "user" : "assistant")) return `messages.${i}: roles must alternate, starting with user`;
    const blocks: any[] = typeof m.content === "string" ? [{ type: "text" }] : m.content;
    if (m.role === "user") {
      const results = blocks.filter((b) => b.type === "tool_result").map((b) => b.tool_use_id);
      if (blocks.slice(0, results.length).some((b) => b.type !== "tool_result")) return `messages.${i}: tool_result blocks must come first`;
      if (open.length !== results.length || open.some((id) => !results.includes(id))) return `messages.${i}: tool_use ids were found without tool_result blocks immediately after`;
      open = [];
    } else {
      open = blocks.filter((b) => b.type === "tool_use").map((b) => b.id);
      if (blocks.some((b) => b.type === "tool_use" && (!ID.test(b.id) || !NAME.test(b.name) || typeof b.input !== "object"))) return `messages.${i}: bad tool_use block`;
    }
  }
  return null;
}

function anthropic(body: any, signal: AbortSignal): Response | Promise<Response> {
  const p = plan(body, body.max_tokens);
  if (p.error) return anthropicError(p.error);
  if (typeof body.max_tokens !== "number") return anthropicError(400);
  const broken = anthropicContractError(body);
  if (broken) return Response.json({ type: "error", error: { type: "invalid_request_error", message: broken } }, { status: 400 });
  const id = `msg_fake${Math.random().toString(36).slice(2, 10)}`;
  const outTokens = p.tools ? 12 : p.words;
  const usage = { input_tokens: p.promptTokens, output_tokens: outTokens, cache_read_input_tokens: p.cacheRead, cache_creation_input_tokens: p.cacheWrite };
  const text = Array.from({ length: p.words }, (_, i) => wordAt(i)).join(" ");
  const toolBlock = { type: "tool_use", id: "toolu_fake1", name: "get_weather", input: { city: "Paris" } };
  if (!body.stream) {
    const content = p.tools ? [{ type: "text", text: "Checking." }, toolBlock] : [{ type: "text", text }];
    const answer = { id, type: "message", role: "assistant", model: body.model, content, stop_reason: p.tools ? "tool_use" : p.words < 5 && body.max_tokens <= p.words ? "max_tokens" : "end_turn", stop_sequence: null, usage };
    if (p.hang) return new Promise<Response>(() => {});
    return p.slowMs ? sleep(p.slowMs).then(() => Response.json(answer)) : Response.json(answer);
  }
  const ev = (type: string, data: any) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  return sse(
    async function* () {
      if (p.hang) await new Promise(() => {});
      yield ev("message_start", { message: { id, type: "message", role: "assistant", model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } });
      yield ev("ping", {});
      if (p.tools) {
        yield ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
        yield ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: "Checking." } });
        yield ev("content_block_stop", { index: 0 });
        yield ev("content_block_start", { index: 1, content_block: { type: "tool_use", id: "toolu_fake1", name: "get_weather", input: {} } });
        yield ev("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: '{"city":' } });
        yield ev("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: '"Paris"}' } });
        yield ev("content_block_stop", { index: 1 });
      } else {
        yield ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
        for (let i = 0; i < p.words; i++) {
          await sleep(p.midstreamFail ? Math.max(p.slowMs, 30) : p.slowMs);
          if (p.midstreamFail && i === 2) throw new Error("midstream failure");
          yield ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: `${i ? " " : ""}${wordAt(i)}` } });
        }
        if (p.midstreamFail) throw new Error("midstream failure");
        yield ev("content_block_stop", { index: 0 });
      }
      yield ev("message_delta", { delta: { stop_reason: p.tools ? "tool_use" : "end_turn", stop_sequence: null }, usage: { output_tokens: p.noUsage ? 0 : outTokens } });
      yield ev("message_stop", {});
    },
    signal,
  );
}

export type Fault = { status: number; retryAfter?: string } | "stream-cut" | "midstream" | "hang";

/** The request with a directive appended to its last user message (faults reuse the directives). */
function withDirective(body: any, directive: string): any {
  const msgs: any[] = Array.isArray(body.messages) ? body.messages.map((m: any) => ({ ...m })) : [];
  const last = [...msgs].reverse().find((m) => m.role === "user");
  if (last) last.content = `${textOf(last.content)} ${directive}`;
  return { ...body, messages: msgs };
}

function applyFault(f: Fault, path: string, body: any, signal: AbortSignal): Response | Promise<Response> {
  const anth = path.endsWith("/messages");
  if (typeof f === "object") {
    const r = anth ? anthropicError(f.status) : openAiError(f.status);
    if (f.retryAfter !== undefined) r.headers.set("retry-after", f.retryAfter);
    return r;
  }
  if (f === "stream-cut") {
    return sse(async function* () {
      throw new Error("cut before the first event");
    }, signal);
  }
  const b = withDirective(body, f === "hang" ? "[[hang]]" : "[[midstream-fail]]");
  return anth ? anthropic(b, signal) : openAi(b, signal);
}

export interface FakeProvider {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Queues scripted answers (for requests containing `marker`, when given). */
  script(steps: ScriptStep[]): void;
  script(marker: string, steps: ScriptStep[]): void;
  /** Steps still queued (under `marker`). */
  pending(marker?: string): number;
  /** Queues faults for the next `count` chat/messages requests (routing's fault injection). */
  fault(f: Fault, count?: number): void;
  stop(): void;
}

/** One model call as the fake itself saw it (benchmarks): absolute times (performance.timeOrigin + now, comparable across processes). */
export interface TimedCall {
  start: number;
  end: number;
  path: string;
  requestBytes: number;
  body: unknown;
}

const absNow = () => performance.timeOrigin + performance.now();

/**
 * `onCall` (benchmarks): each POST is timed from the handler being entered to its answer's last byte
 * being produced (a streamed body's close), in the fake's own process — no hop in between.
 */
export function startFakeProvider(opts: { port?: number; record?: boolean; onCall?: (c: TimedCall) => void } = {}): FakeProvider {
  const requests: RecordedRequest[] = [];
  const record = opts.record ?? true;
  const scripts = createScripts();
  const faults: Fault[] = [];
  const onCall = opts.onCall;
  const handle = async (req: Request): Promise<Response> => {
    if (!onCall || req.method !== "POST") return answer(req);
    const start = absNow();
    const path = new URL(req.url).pathname;
    const requestBytes = Number(req.headers.get("content-length") ?? 0);
    const text = await req.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {}
    const res = await answer(new Request(req.url, { method: "POST", headers: req.headers, body: text, signal: req.signal }));
    if (!res.body) {
      onCall({ start, end: absNow(), path, requestBytes, body });
      return res;
    }
    const timed = res.body.pipeThrough(new TransformStream({ flush: () => onCall({ start, end: absNow(), path, requestBytes, body }) }));
    return new Response(timed, { status: res.status, headers: res.headers });
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: opts.port ?? 0,
    idleTimeout: 0,
    fetch: (req) => handle(req),
  });
  async function answer(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path.endsWith("/models")) return Response.json({ object: "list", data: [{ id: "fake-model", object: "model", created: 0, owned_by: "fake" }] });
    if (req.method !== "POST") return new Response("not found", { status: 404 });
    let body: any;
    try {
      body = await req.json();
    } catch {
      return openAiError(400);
    }
    if (record) {
      const rec: RecordedRequest = { path, headers: Object.fromEntries(req.headers.entries()), body, aborted: false };
      req.signal.addEventListener("abort", () => (rec.aborted = true), { once: true });
      requests.push(rec);
      if (requests.length > 1000) requests.shift();
    }
    const fault = path.endsWith("/chat/completions") || path.endsWith("/messages") ? faults.shift() : undefined;
    if (fault) return applyFault(fault, path, body, req.signal);
    const step = path.endsWith("/chat/completions") || path.endsWith("/messages") ? scripts.next(JSON.stringify(body)) : undefined;
    if (step) {
      if (step.delayMs) await Bun.sleep(step.delayMs);
      if (!path.endsWith("/messages")) return renderOpenAi(step, body, req.signal);
      // Scripted answers hold the gateway to the same Messages contract as the directives do.
      const broken = anthropicContractError(body);
      if (broken) return Response.json({ type: "error", error: { type: "invalid_request_error", message: broken } }, { status: 400 });
      return renderAnthropic(step, body, req.signal);
    }
    if (path.endsWith("/messages/count_tokens")) {
      // Messages' token count: the prompt's words (the same count the answers report).
      if (typeof body.model !== "string" || !Array.isArray(body.messages)) return anthropicError(400);
      return Response.json({ input_tokens: plan(body, undefined).promptTokens });
    }
    if (path.endsWith("/chat/completions")) return openAi(body, req.signal);
    if (path.endsWith("/messages")) return anthropic(body, req.signal);
    if (path.endsWith("/responses")) return fakeResponses(body, req.signal);
    if (path.endsWith("/embeddings")) return fakeEmbeddings(body);
    return new Response("not found", { status: 404 });
  }
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port!,
    requests,
    script: scripts.script as FakeProvider["script"],
    pending: scripts.pending,
    fault: (f, count = 1) => {
      for (let i = 0; i < count; i++) faults.push(f);
    },
    stop: () => server.stop(true),
  };
}
