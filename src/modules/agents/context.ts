// What a run sends the model: the system prompt, the session's earlier turns as chat messages, and the
// current turn. Earlier turns are dropped, oldest first and whole, until the estimate fits the model's
// context window (less the output reserved); the system prompt and the current turn are never dropped.
import type { TranscriptEntry } from "./transcript.ts";

export type ChatMessage = Record<string, unknown> & { role: string };

/** A deliberately high estimate (about 3 bytes a token, plus framing), so a kept history fits. */
export function estimateTokens(m: ChatMessage | string): number {
  const s = typeof m === "string" ? m : JSON.stringify(m);
  return Math.ceil(Buffer.byteLength(s) / 3) + 4;
}

/** The transcript's turns as chat messages, one array per turn (a turn starts at a user entry). */
export function turnsOf(entries: readonly TranscriptEntry[], excludeRun?: string): ChatMessage[][] {
  const turns: ChatMessage[][] = [];
  let turn: ChatMessage[] | null = null;
  let pending: { id: string; answered: boolean }[] = [];
  const closePending = () => {
    // A tool call whose result never came (the run ended mid-tool): providers want an answer to each.
    for (const p of pending) if (!p.answered) turn?.push({ role: "tool", tool_call_id: p.id, content: "(no result: the run ended before the tool finished)" });
    pending = [];
  };
  for (const e of entries) {
    if (e.runId === excludeRun) continue;
    if (e.type === "user") {
      closePending();
      turn = [{ role: "user", content: String(e.content ?? "") }];
      turns.push(turn);
    } else if (!turn) {
      continue;
    } else if (e.type === "assistant") {
      closePending();
      const calls = Array.isArray(e.toolCalls) ? (e.toolCalls as { id: string; name: string; arguments: string }[]) : [];
      const msg: ChatMessage = { role: "assistant", content: typeof e.text === "string" && e.text !== "" ? e.text : calls.length ? null : "" };
      if (calls.length) msg.tool_calls = calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
      turn.push(msg);
      pending = calls.map((c) => ({ id: c.id, answered: false }));
    } else if (e.type === "tool_result") {
      const p = pending.find((x) => x.id === e.toolCallId && !x.answered);
      if (!p) continue;
      p.answered = true;
      turn.push({ role: "tool", tool_call_id: String(e.toolCallId), content: String(e.content ?? "") });
    }
  }
  closePending();
  return turns;
}

/** The messages to send: system, the newest earlier turns that fit, the current turn. */
export function buildContext(opts: { system: string; history: ChatMessage[][]; current: ChatMessage[]; contextWindow: number; reserveOutput: number }): { messages: ChatMessage[]; droppedTurns: number } {
  const head: ChatMessage[] = opts.system ? [{ role: "system", content: opts.system }] : [];
  let budget = opts.contextWindow - opts.reserveOutput - head.reduce((n, m) => n + estimateTokens(m), 0) - opts.current.reduce((n, m) => n + estimateTokens(m), 0);
  const kept: ChatMessage[][] = [];
  for (let i = opts.history.length - 1; i >= 0; i--) {
    const turn = opts.history[i]!;
    const cost = turn.reduce((n, m) => n + estimateTokens(m), 0);
    if (cost > budget) break;
    budget -= cost;
    kept.unshift(turn);
  }
  return { messages: [...head, ...kept.flat(), ...opts.current], droppedTurns: opts.history.length - kept.length };
}
