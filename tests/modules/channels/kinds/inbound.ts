// Builds the InboundRequest the channels module hands a kind, from what a stand-in produced.
import type { InboundRequest, PlatformApi } from "../../../../src/modules/channels/kinds/kind.ts";

export function inbound(body: string, headers: Record<string, string>, opts: { method?: "GET" | "POST"; query?: URLSearchParams; nowMs?: number } = {}): InboundRequest {
  return {
    method: opts.method ?? "POST",
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    query: opts.query ?? new URLSearchParams(),
    rawBody: new TextEncoder().encode(body),
    nowMs: opts.nowMs ?? Date.now(),
  };
}

export const api = (base: string): PlatformApi => ({ base, fetch: globalThis.fetch });

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

/** The error a call throws (fails the test when it returns). */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a throw");
}
