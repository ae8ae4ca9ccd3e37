// What a request is charged when the provider's closing usage never arrives (a stream cut by the
// client or the provider, or an answer without usage): the whole input bound admission reserved — the
// provider has the prompt and bills it — plus the output the gateway saw, bounded the same way as the
// input (no token is shorter than a byte) and by the output cap the provider was given. A partial
// report (Anthropic's message_start) is honest as far as it goes: its figures are kept when larger.
// A call that timed out before any answer is charged everything it reserved (see worst()).
import type { Json } from "../providers/provider.ts";
import type { TokenUsage } from "../usage/pricing.ts";

export class CutCharge {
  constructor(
    /** inputTokenBound of the payload that was sent. */
    readonly inputBound: number,
    /** The output cap sent upstream, times the choices asked for. */
    readonly outputCap: number,
  ) {}

  /**
   * A call that timed out after the provider had it: a non-streaming answer may have been generated
   * in full and billed, so it is charged the whole reservation (the bound and the output cap).
   */
  worst(): TokenUsage {
    return { inputTokens: this.inputBound, outputTokens: this.outputCap, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
  }

  charge(partial: TokenUsage | null, outputBytes: number): TokenUsage {
    const p = partial ?? { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
    return {
      inputTokens: Math.max(this.inputBound, p.inputTokens),
      outputTokens: Math.max(p.outputTokens, Math.min(outputBytes, this.outputCap)),
      cacheReadTokens: p.cacheReadTokens,
      cacheWriteTokens: p.cacheWriteTokens,
      reasoningTokens: p.reasoningTokens,
    };
  }
}

/** UTF-8 bytes of every string in `choices[].<key>` (a stream delta or a message): text, refusals, reasoning, tool calls. */
export function outputBytes(choices: unknown, key: "delta" | "message"): number {
  if (!Array.isArray(choices)) return 0;
  let n = 0;
  for (const c of choices) if (c && typeof c === "object") n += stringBytes((c as Json)[key]);
  return n;
}

/** UTF-8 bytes of every string in a JSON value (output a provider generated: text, tool input, reasoning). */
export function stringBytes(v: unknown): number {
  if (typeof v === "string") return Buffer.byteLength(v);
  if (!v || typeof v !== "object") return 0;
  let n = 0;
  if (Array.isArray(v)) for (const x of v) n += stringBytes(x);
  else for (const k in v as Json) n += stringBytes((v as Json)[k]);
  return n;
}

/** Two charges as one (a call and the attempts routing left behind for it). */
export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    reasoningTokens: a.reasoningTokens + b.reasoningTokens,
  };
}
