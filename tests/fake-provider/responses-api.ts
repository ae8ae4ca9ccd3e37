// The fake provider's OpenAI Responses API (POST /v1/responses, JSON and SSE) and embeddings
// (POST /v1/embeddings, float and base64), for the gateway's passthrough and embeddings tests.
// Directives in the last user message's text, as for chat: [[words:N]], [[tools]], [[error:STATUS]],
// [[slow:MS]] (between stream events).
// Embeddings: one deterministic vector per input (8 dimensions, or `dimensions`); a text containing
// [[error:STATUS]] fails; prompt tokens are the words of the inputs (token arrays: their length).

const enc = new TextEncoder();
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];

function textOfItems(input: unknown): { all: string; last: string } {
  if (typeof input === "string") return { all: input, last: input };
  const texts: string[] = [];
  let last = "";
  for (const it of Array.isArray(input) ? input : []) {
    const c = (it as any)?.content;
    const t = typeof c === "string" ? c : Array.isArray(c) ? c.map((p: any) => p?.text ?? "").join(" ") : typeof (it as any)?.output === "string" ? (it as any).output : "";
    texts.push(t);
    if ((it as any)?.role === "user" || (it as any)?.type === "function_call_output") last = t;
  }
  return { all: texts.join(" "), last };
}

export function fakeResponses(body: any, signal: AbortSignal): Response {
  const { all, last } = textOfItems(body.input);
  const err = /\[\[error:(\d+)\]\]/.exec(last);
  if (err) return Response.json({ error: { message: `fake provider error ${err[1]}`, type: "server_error", param: null, code: null } }, { status: Number(err[1]) });
  const words = Math.min(Number(/\[\[words:(\d+)\]\]/.exec(last)?.[1] ?? 5), body.max_output_tokens ?? Infinity);
  const tools = last.includes("[[tools]]");
  const inputTokens = `${body.instructions ?? ""} ${all}`.split(/\s+/).filter(Boolean).length;
  const outputTokens = tools ? 12 : words;
  const usage = { input_tokens: inputTokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: outputTokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: inputTokens + outputTokens };
  const text = Array.from({ length: words }, (_, i) => WORDS[i % WORDS.length]).join(" ");
  const item = tools
    ? { id: "fc_fake1", type: "function_call", status: "completed", call_id: "call_fake1", name: "get_weather", arguments: '{"city":"Paris"}' }
    : { id: "msg_fake1", type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text, annotations: [], logprobs: [] }] };
  const base = { id: "resp_upstream1", object: "response", created_at: Math.floor(Date.now() / 1000), model: body.model, store: body.store, error: null, incomplete_details: null, output: [] as any[], usage: null as any };
  const final = { ...base, status: "completed", output: [item], usage };
  if (!body.stream) return Response.json(final);
  let seq = 0;
  const ev = (type: string, o: any) => `event: ${type}\ndata: ${JSON.stringify({ type, ...o, sequence_number: seq++ })}\n\n`;
  const parts = [ev("response.created", { response: { ...base, status: "in_progress" } }), ev("response.in_progress", { response: { ...base, status: "in_progress" } })];
  if (tools) {
    parts.push(ev("response.output_item.added", { output_index: 0, item: { ...item, arguments: "", status: "in_progress" } }));
    parts.push(ev("response.function_call_arguments.delta", { item_id: item.id, output_index: 0, delta: (item as any).arguments }));
    parts.push(ev("response.function_call_arguments.done", { item_id: item.id, output_index: 0, arguments: (item as any).arguments }));
  } else {
    parts.push(ev("response.output_item.added", { output_index: 0, item: { ...item, status: "in_progress", content: [] } }));
    parts.push(ev("response.content_part.added", { item_id: item.id, output_index: 0, content_index: 0, part: { type: "output_text", text: "", annotations: [] } }));
    text.split(" ").forEach((w, i) => parts.push(ev("response.output_text.delta", { item_id: item.id, output_index: 0, content_index: 0, delta: i ? ` ${w}` : w, logprobs: [] })));
    parts.push(ev("response.output_text.done", { item_id: item.id, output_index: 0, content_index: 0, text, logprobs: [] }));
    parts.push(ev("response.content_part.done", { item_id: item.id, output_index: 0, content_index: 0, part: (item as any).content[0] }));
  }
  parts.push(ev("response.output_item.done", { output_index: 0, item }));
  parts.push(ev("response.completed", { response: final }));
  const slowMs = Number(/\[\[slow:(\d+)\]\]/.exec(last)?.[1] ?? 0);
  let i = 0;
  return new Response(
    new ReadableStream<Uint8Array>({
      async pull(c) {
        if (slowMs && i > 0) await Bun.sleep(slowMs);
        if (signal.aborted || i >= parts.length) return c.close();
        c.enqueue(enc.encode(parts[i++]!));
      },
    }),
    { headers: { "content-type": "text/event-stream" } },
  );
}

function vector(text: string, dims: number): number[] {
  const h = new Bun.CryptoHasher("sha256").update(text).digest();
  return Array.from({ length: dims }, (_, i) => (h[i % h.length]! - 128) / 128);
}

export function fakeEmbeddings(body: any): Response {
  const inputs: unknown[] = typeof body.input === "string" || (Array.isArray(body.input) && typeof body.input[0] === "number") ? [body.input] : Array.isArray(body.input) ? body.input : [];
  const texts = inputs.map((x) => (typeof x === "string" ? x : JSON.stringify(x)));
  const err = texts.map((t) => /\[\[error:(\d+)\]\]/.exec(t)).find(Boolean);
  if (err) return Response.json({ error: { message: `fake provider error ${err[1]}`, type: "server_error", param: null, code: null } }, { status: Number(err[1]) });
  const dims = typeof body.dimensions === "number" ? body.dimensions : 8;
  const tokens = inputs.reduce<number>((n, x) => n + (typeof x === "string" ? x.split(/\s+/).filter(Boolean).length : Array.isArray(x) ? x.length : 0), 0);
  const data = texts.map((t, index) => {
    const v = vector(t, dims);
    const embedding = body.encoding_format === "base64" ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v;
    return { object: "embedding", index, embedding };
  });
  return Response.json({ object: "list", data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
}
