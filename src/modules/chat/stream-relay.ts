// The SSE body of a governed stream (governed-call.ts): provider items framed by the surface's codec,
// keep-alives while the provider is quiet, the identity re-checked before each item, settled once —
// with the provider's closing usage, or as a cut stream (the client left, the provider failed, the
// tenant stopped).
import type { Clock } from "../../core/clock.ts";
import { type AppError, toAppError } from "../../core/errors.ts";
import { ClientGone, type StreamItem } from "../providers/provider.ts";
import type { TokenUsage } from "../usage/pricing.ts";

/** How a surface frames a stream for its clients (part of its codec, governed-call.ts). */
export interface StreamFraming {
  /** A provider stream item → bytes for the client (null: nothing) and the output bytes it carried. */
  frame(item: StreamItem): { data: Uint8Array | null; outBytes: number };
  /** What the stream ends with after the provider's last item (null: nothing). */
  end(): Uint8Array | null;
  /** The error event for a failure mid-stream. */
  streamError(e: AppError): Uint8Array;
  /** Sent while the provider is quiet. */
  keepAlive(): Uint8Array;
}

export type Outcome = {
  status: "ok" | "error" | "client_closed";
  httpStatus: number;
  errorCode?: string;
  /** Usage as the provider reported it; `final` says it is its closing count, not a running one. */
  usage: TokenUsage | null;
  final?: boolean;
  /** Charge the input bound and the output seen unless final usage arrived (false: nothing was sent upstream). */
  chargeInput: boolean;
  /** The provider had the request and never said what it did with it: charge what was reserved. */
  chargeAll?: boolean;
  outputBytes?: number;
  ttfbMs?: number;
  /** The deployment that served the call (providers/router.ts), if one did: the ledger's `deployment`. */
  deployment?: string;
};

/** The SSE body: provider items framed by the codec, keep-alives while quiet, settle once. */
export function relay(
  items: AsyncIterator<StreamItem>,
  codec: StreamFraming,
  settle: (o: Outcome) => void,
  startedAt: number,
  clock: Clock,
  abortUpstream: () => void,
  keepAliveMs: number,
  /** Throws IdentityEnded once the tenant stopped or the identity the call was admitted with ended. */
  current: () => void,
): ReadableStream<Uint8Array> {
  let usage: TokenUsage | null = null;
  let final = false;
  let outBytes = 0;
  let ttfbMs: number | undefined;
  let pending: Promise<IteratorResult<StreamItem>> | null = null;
  let settled = false;
  const once = (o: Omit<Outcome, "usage" | "final" | "outputBytes" | "ttfbMs">) => {
    if (settled) return;
    settled = true;
    settle({ ...o, usage, final, outputBytes: outBytes, ttfbMs });
  };
  const KEEPALIVE = Symbol("keepalive");
  /** The tenant stopped: the provider call ends, charged as a cut stream, and the client is told. */
  const ended = (controller: ReadableStreamDefaultController<Uint8Array>, e: AppError) => {
    abortUpstream();
    once({ status: "error", httpStatus: 200, errorCode: "tenant_stopped", chargeInput: true });
    controller.enqueue(codec.streamError(e));
    controller.close();
  };
  const check = (): AppError | null => {
    try {
      current();
      return null;
    } catch (err) {
      return toAppError(err);
    }
  };

  return new ReadableStream<Uint8Array>({
    // Each pull enqueues something (a frame, a keep-alive, the end or an error) or closes the stream;
    // provider items that produce nothing for the client are skipped in the loop.
    async pull(controller) {
      for (;;) {
        pending ??= items.next();
        let timer: Timer | undefined;
        let next: IteratorResult<StreamItem> | typeof KEEPALIVE;
        try {
          next = await Promise.race([pending, new Promise<typeof KEEPALIVE>((resolve) => (timer = setTimeout(() => resolve(KEEPALIVE), keepAliveMs)))]);
        } catch (err) {
          clearTimeout(timer);
          pending = null;
          if (err instanceof ClientGone) {
            const gone = check();
            if (gone) return ended(controller, gone);
            once({ status: "client_closed", httpStatus: 499, errorCode: "client_closed", chargeInput: true });
            controller.close();
            return;
          }
          const e = toAppError(err);
          once({ status: "error", httpStatus: 200, errorCode: e.code, chargeInput: true });
          controller.enqueue(codec.streamError(e));
          controller.close();
          return;
        }
        clearTimeout(timer);
        const gone = check();
        if (gone) return ended(controller, gone);
        if (next === KEEPALIVE) {
          controller.enqueue(codec.keepAlive());
          return;
        }
        pending = null;
        if (next.done) {
          once({ status: "ok", httpStatus: 200, errorCode: final ? undefined : "no_usage_reported", chargeInput: true });
          const tail = codec.end();
          if (tail) controller.enqueue(tail);
          controller.close();
          return;
        }
        const item = next.value;
        ttfbMs ??= clock.now() - startedAt;
        if (item.usage) usage = item.usage;
        if (item.final) final = true;
        const f = codec.frame(item);
        outBytes += f.outBytes;
        if (!f.data) continue;
        controller.enqueue(f.data);
        return;
      }
    },
    async cancel() {
      // The client went away: stop the provider and charge at least the input.
      once({ status: "client_closed", httpStatus: 499, errorCode: "client_closed", chargeInput: true });
      abortUpstream();
    },
  });
}
