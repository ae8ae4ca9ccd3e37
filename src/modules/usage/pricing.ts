// Token usage and its price. Rates are USD per 1M tokens, i.e. micro-USD per token. Pure functions.

export interface TokenUsage {
  /** All prompt tokens, cached ones included. */
  inputTokens: number;
  /** All completion tokens, reasoning included. */
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
}

export interface Rates {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
}

export const FREE: Rates = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 };

export function totalTokens(u: TokenUsage): number {
  return u.inputTokens + u.outputTokens;
}

/** Cost in micro-USD: uncached input, cache reads, cache writes, non-reasoning output, reasoning. */
export function priceMicroUsd(u: TokenUsage, r: Rates): number {
  const cached = Math.min(u.cacheReadTokens + u.cacheWriteTokens, u.inputTokens);
  const plainInput = u.inputTokens - cached;
  const reasoning = Math.min(u.reasoningTokens, u.outputTokens);
  const plainOutput = u.outputTokens - reasoning;
  const micro = plainInput * r.input + u.cacheReadTokens * r.cacheRead + u.cacheWriteTokens * r.cacheWrite + plainOutput * r.output + reasoning * r.reasoning;
  return Math.round(micro);
}
