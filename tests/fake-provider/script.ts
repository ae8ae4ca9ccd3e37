// Scripted conversations for the fake provider: `fake.script(steps)` (or `fake.script(marker, steps)`,
// for requests whose body contains `marker`) queues model answers; each call pops the next step and
// renders it in the wire format that was called — OpenAI chat completions or Anthropic messages, JSON
// or SSE. With no step queued for a request, the directives in its messages apply as before.

export interface ScriptStep {
  text?: string;
  toolCalls?: { id?: string; name: string; arguments: object | string }[];
  usage?: { input?: number; output?: number };
  /** Wait this long before answering. */
  delayMs?: number;
  /** Answer this HTTP status with the provider's error envelope. */
  error?: number;
}

const enc = new TextEncoder();
let seq = 0;

function usageOf(step: ScriptStep, body: any) {
  const input = step.usage?.input ?? Math.max(1, Math.ceil(JSON.stringify(body.messages ?? []).length / 20));
  const output = step.usage?.output ?? Math.max(1, (step.text ?? "").split(/\s+/).filter(Boolean).length + 8 * (step.toolCalls?.length ?? 0));
  return { input, output };
}

function calls(step: ScriptStep) {
  return (step.toolCalls ?? []).map((c, i) => ({ id: c.id ?? `call_s${++seq}_${i}`, name: c.name, args: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments) }));
}

function stream(parts: string[], signal: AbortSignal): Response {
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (signal.aborted || i >= parts.length) return controller.close();
      controller.enqueue(enc.encode(parts[i++]!));
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
}

export function renderOpenAi(step: ScriptStep, body: any, signal: AbortSignal): Response {
  if (step.error) return Response.json({ error: { message: `fake provider error ${step.error}`, type: "server_error", param: null, code: "server_error" } }, { status: step.error });
  const u = usageOf(step, body);
  const usage = { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } };
  const id = `chatcmpl-script${++seq}`;
  const created = Math.floor(Date.now() / 1000);
  const tc = calls(step);
  const finish = tc.length ? "tool_calls" : "stop";
  if (!body.stream) {
    const message: any = { role: "assistant", content: step.text ?? (tc.length ? null : "") };
    if (tc.length) message.tool_calls = tc.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.args } }));
    return Response.json({ id, object: "chat.completion", created, model: body.model, choices: [{ index: 0, message, finish_reason: finish, logprobs: null }], usage });
  }
  const chunk = (delta: any, f: string | null = null) => `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: body.model, choices: [{ index: 0, delta, finish_reason: f, logprobs: null }] })}\n\n`;
  const parts = [chunk({ role: "assistant", content: "" })];
  if (step.text) parts.push(chunk({ content: step.text }));
  tc.forEach((c, i) => {
    parts.push(chunk({ tool_calls: [{ index: i, id: c.id, type: "function", function: { name: c.name, arguments: "" } }] }));
    parts.push(chunk({ tool_calls: [{ index: i, function: { arguments: c.args } }] }));
  });
  parts.push(chunk({}, finish));
  if (body.stream_options?.include_usage) parts.push(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: body.model, choices: [], usage })}\n\n`);
  parts.push("data: [DONE]\n\n");
  return stream(parts, signal);
}

export function renderAnthropic(step: ScriptStep, body: any, signal: AbortSignal): Response {
  if (step.error) return Response.json({ type: "error", error: { type: "api_error", message: `fake provider error ${step.error}` } }, { status: step.error });
  const u = usageOf(step, body);
  const id = `msg_script${++seq}`;
  const tc = calls(step);
  const stop = tc.length ? "tool_use" : "end_turn";
  const blocks: any[] = [];
  if (step.text) blocks.push({ type: "text", text: step.text });
  for (const c of tc) blocks.push({ type: "tool_use", id: c.id.replace(/^call_/, "toolu_"), name: c.name, input: JSON.parse(c.args) });
  const usage = { input_tokens: u.input, output_tokens: u.output, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
  if (!body.stream) return Response.json({ id, type: "message", role: "assistant", model: body.model, content: blocks, stop_reason: stop, stop_sequence: null, usage });
  const ev = (type: string, data: any) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const parts = [ev("message_start", { message: { id, type: "message", role: "assistant", model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } })];
  blocks.forEach((b, index) => {
    if (b.type === "text") {
      parts.push(ev("content_block_start", { index, content_block: { type: "text", text: "" } }));
      parts.push(ev("content_block_delta", { index, delta: { type: "text_delta", text: b.text } }));
    } else {
      parts.push(ev("content_block_start", { index, content_block: { type: "tool_use", id: b.id, name: b.name, input: {} } }));
      parts.push(ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: JSON.stringify(b.input) } }));
    }
    parts.push(ev("content_block_stop", { index }));
  });
  parts.push(ev("message_delta", { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: u.output } }));
  parts.push(ev("message_stop", {}));
  return stream(parts, signal);
}

/** The queues: by marker ("" for any request), popped in order. */
export function createScripts() {
  const queues = new Map<string, ScriptStep[]>();
  return {
    script(markerOrSteps: string | ScriptStep[], maybeSteps?: ScriptStep[]): void {
      const [marker, steps] = typeof markerOrSteps === "string" ? [markerOrSteps, maybeSteps ?? []] : ["", markerOrSteps];
      queues.set(marker, [...(queues.get(marker) ?? []), ...steps]);
    },
    /** The next step for this request: a marker's queue whose marker the body contains, else the default queue. */
    next(raw: string): ScriptStep | undefined {
      for (const [marker, q] of queues) if (marker && q.length && raw.includes(marker)) return q.shift();
      return queues.get("")?.shift();
    },
    pending: (marker = "") => queues.get(marker)?.length ?? 0,
    clear: () => queues.clear(),
  };
}
