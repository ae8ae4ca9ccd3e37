// A chat completion stream (the chat layer's SSE: chunks, then the usage chunk, then [DONE], or an
// error event) re-told as the Responses API's typed events: response.created and in_progress, then per
// output item output_item.added, content_part.added, output_text.delta … done (or
// function_call_arguments.delta … done), output_item.done, and response.completed (incomplete,
// failed). Every event carries a sequence_number. The finished response is stored before
// response.completed is sent, so a client may chain on it at once. Cancelling this stream (the client
// went away) cancels the chat stream, which stops the provider and settles the charge.
import type { Json } from "../providers/provider.ts";
import { parseSse } from "../../lib/sse.ts";
import { newItemId } from "./ids.ts";
import { finishStatus, toResponsesUsage } from "./responses.translate.ts";

const enc = new TextEncoder();

type OpenItem = { index: number; item: Json; text: string; kind: "message" | "refusal" | "function_call"; chatIndex?: number };

export function responsesStream(
  chatBody: ReadableStream<Uint8Array>,
  base: Json,
  keepAliveMs: number,
  onDone: (final: Json) => void,
): ReadableStream<Uint8Array> {
  const reader = chatBody.getReader();
  const source = new ReadableStream<Uint8Array>({
    async pull(c) {
      const { done, value } = await reader.read();
      if (done) c.close();
      else c.enqueue(value);
    },
  });
  const events = parseSse(source)[Symbol.asyncIterator]();
  let seq = 0;
  const output: Json[] = [];
  let open: OpenItem | null = null;
  const calls = new Map<number, OpenItem>();
  let usage: Json | null = null;
  let finish: unknown = null;
  let started = false;
  let ended = false;
  let pending: Promise<IteratorResult<{ event?: string; data: string }>> | null = null;

  const frame = (type: string, payload: Json): Uint8Array => enc.encode(`event: ${type}\ndata: ${JSON.stringify({ type, ...payload, sequence_number: seq++ })}\n\n`);
  const snapshot = (extra: Json): Json => ({ ...base, ...extra });

  function closeOpen(out: Uint8Array[]): void {
    if (!open) return;
    const o = open;
    open = null;
    if (o.kind === "function_call") {
      o.item.arguments = o.text;
      o.item.status = "completed";
      out.push(frame("response.function_call_arguments.done", { item_id: o.item.id, output_index: o.index, name: o.item.name, arguments: o.text }));
    } else {
      const part = o.kind === "message" ? { type: "output_text", text: o.text, annotations: [], logprobs: [] } : { type: "refusal", refusal: o.text };
      out.push(o.kind === "message" ? frame("response.output_text.done", { item_id: o.item.id, output_index: o.index, content_index: 0, text: o.text, logprobs: [] }) : frame("response.refusal.done", { item_id: o.item.id, output_index: o.index, content_index: 0, refusal: o.text }));
      out.push(frame("response.content_part.done", { item_id: o.item.id, output_index: o.index, content_index: 0, part }));
      o.item.content = [part];
      o.item.status = "completed";
    }
    out.push(frame("response.output_item.done", { output_index: o.index, item: o.item }));
  }

  function openItem(kind: OpenItem["kind"], out: Uint8Array[], call?: Json): OpenItem {
    closeOpen(out);
    const index = output.length;
    const item: Json =
      kind === "function_call"
        ? { id: newItemId("fc"), type: "function_call", status: "in_progress", call_id: call?.id ?? "", name: (call?.function as Json | undefined)?.name ?? "", arguments: "" }
        : { id: newItemId("msg"), type: "message", status: "in_progress", role: "assistant", content: [] };
    output.push(item);
    out.push(frame("response.output_item.added", { output_index: index, item: { ...item, ...(kind === "function_call" ? {} : { content: [] }) } }));
    if (kind !== "function_call") {
      const part = kind === "message" ? { type: "output_text", text: "", annotations: [], logprobs: [] } : { type: "refusal", refusal: "" };
      out.push(frame("response.content_part.added", { item_id: item.id, output_index: index, content_index: 0, part }));
    }
    open = { index, item, text: "", kind };
    return open;
  }

  function onChunk(chunk: Json, out: Uint8Array[]): void {
    if (chunk.usage) usage = toResponsesUsage(chunk.usage);
    const choice = (chunk.choices as Json[] | undefined)?.[0];
    if (!choice) return;
    if (choice.finish_reason) finish = choice.finish_reason;
    const delta = (choice.delta ?? {}) as Json;
    if (typeof delta.content === "string" && delta.content.length > 0) {
      const o = open?.kind === "message" ? open : openItem("message", out);
      o.text += delta.content;
      out.push(frame("response.output_text.delta", { item_id: o.item.id, output_index: o.index, content_index: 0, delta: delta.content, logprobs: [] }));
    }
    if (typeof delta.refusal === "string" && delta.refusal.length > 0) {
      const o = open?.kind === "refusal" ? open : openItem("refusal", out);
      o.text += delta.refusal;
      out.push(frame("response.refusal.delta", { item_id: o.item.id, output_index: o.index, content_index: 0, delta: delta.refusal }));
    }
    for (const tc of (delta.tool_calls as Json[] | undefined) ?? []) {
      const idx = typeof tc.index === "number" ? tc.index : 0;
      let o = calls.get(idx);
      if (!o) {
        o = openItem("function_call", out, tc);
        o.chatIndex = idx;
        calls.set(idx, o);
      } else if (open !== o) continue; // a fragment of a call already closed: chat sends calls in order
      const args = (tc.function as Json | undefined)?.arguments;
      if (typeof args === "string" && args.length > 0) {
        o.text += args;
        out.push(frame("response.function_call_arguments.delta", { item_id: o.item.id, output_index: o.index, delta: args }));
      }
    }
  }

  function finishOk(out: Uint8Array[]): void {
    closeOpen(out);
    const { status, incomplete_details } = finishStatus(finish);
    const final = snapshot({ status, incomplete_details, output, usage });
    onDone(final);
    out.push(frame(status === "completed" ? "response.completed" : "response.incomplete", { response: final }));
  }

  function fail(err: Json, out: Uint8Array[]): void {
    closeOpen(out);
    const error = { code: String(err.code ?? "server_error"), message: String(err.message ?? "the provider failed") };
    out.push(frame("response.failed", { response: snapshot({ status: "failed", error, output, usage }) }));
  }

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const out: Uint8Array[] = [];
      if (!started) {
        started = true;
        const initial = snapshot({ status: "in_progress", output: [], usage: null });
        controller.enqueue(frame("response.created", { response: initial }));
        controller.enqueue(frame("response.in_progress", { response: initial }));
        return;
      }
      while (out.length === 0 && !ended) {
        pending ??= events.next();
        let timer: Timer | undefined;
        const next = await Promise.race([pending, new Promise<"keepalive">((r) => (timer = setTimeout(() => r("keepalive"), keepAliveMs)))]);
        clearTimeout(timer);
        if (next === "keepalive") {
          controller.enqueue(enc.encode(": keep-alive\n\n"));
          return;
        }
        pending = null;
        if (next.done) {
          // The chat stream ended without [DONE]: it was cut.
          fail({ code: "upstream_error", message: "the provider's stream ended early" }, out);
          ended = true;
          break;
        }
        if (next.value.data === "[DONE]") {
          finishOk(out);
          ended = true;
          break;
        }
        let chunk: Json;
        try {
          chunk = JSON.parse(next.value.data) as Json;
        } catch {
          continue;
        }
        if (chunk.error) {
          fail(chunk.error as Json, out);
          ended = true;
          break;
        }
        onChunk(chunk, out);
      }
      for (const b of out) controller.enqueue(b);
      if (ended) controller.close();
    },
    async cancel() {
      ended = true;
      await reader.cancel().catch(() => {});
    },
  });
}
