// What a tenant's RPC traffic may make the gateway do, on every WebSocket surface (GET /rpc,
// protocol v4 on GET /, any later one) and on POST /rpc: each frame takes a token from its
// connection's bucket (gateway.websocket.messagesPerSecond/Burst) AND from its tenant's bucket across
// all of the tenant's connections (tenantMessagesPerSecond/Burst); the bytes of every frame received
// and of every answer MADE for the tenant are charged to one per-tenant byte budget
// (tenantAnswerBytesPerSecond/Burst), which POST /rpc requests draw on too. A per-connection budget
// alone is multiplied by the connections a tenant may open (red team 14, F6), and a budget that
// counts only what is sent is passed by answers too large to send, by large frames and by moving to
// POST /rpc (re-check, F1-F3). An answer is charged after it is made (its size is not known before),
// so the byte budget may go into debt by the answers in progress; while it is in debt the tenant's
// next frames and requests are refused, not run — that bounds the average.
//
// A refusal must cost less than the work it refuses: a refused frame larger than REFUSED_PARSE_CHARS
// is not parsed (the surface answers without its id, or not at all), and a connection that keeps
// sending after its frames are refused — more than its own burst of refusals at its own rate, each
// refused frame weighing one per REFUSED_PARSE_CHARS of it — is closed (1008), so nothing a client
// sends is looked at faster than about twice its budget. In memory only.
import type { GatewayConfig } from "../../config/schema.ts";
import { type BucketLimits, TokenBuckets } from "../../lib/token-bucket.ts";

/** Why a frame was not run, and when to send it again. The surface turns it into its wire error. */
export interface FrameRefusal {
  scope: "connection" | "tenant";
  /** The config key of the limit that refused it. */
  limit: string;
  /** Names the limit and says the frame was not run. */
  message: string;
  retryAfterSeconds: number;
  /** The connection ignored its refusals for too long: the surface closes it (1008) with `message`. */
  close?: boolean;
}

/** Refused frames longer than this are not parsed to find the ids to refuse (a refusal stays cheap). */
export const REFUSED_PARSE_CHARS = 16 * 1024;

/** One connection's view of the budget: take() before looking at any frame, answered() with every answer made. */
export interface FrameBudget {
  /** Before a frame (text or binary, valid or not) of `size` bytes (characters for text) is looked at. */
  take(size: number): FrameRefusal | null;
  /** The bytes of an answer made for the tenant, sent or not (one too large to send was still made). */
  answered(bytes: number): void;
  /**
   * Bytes output that can wait (a terminal's) may take now: what the tenant's byte budget has left
   * above half its burst, so such output never puts the budget in debt and the tenant's own frames
   * (a ^C into a flooding terminal) are not refused because of it. Nothing is charged.
   */
  roomForOutput(): number;
}

/** The tenant's byte budget seen from a request that is not a frame (POST /rpc). */
export interface RequestBudget {
  /** Charges the request's body; refuses it (not run) while the tenant's byte budget is in debt. */
  take(size: number): FrameRefusal | null;
  answered(bytes: number): void;
}

const MAX_TENANTS = 100_000;

/** `refused` is told the limit of every refusal (the operator's metrics: openclaw_quota_refusals_total). */
export function createTenantBudget(config: () => GatewayConfig, refused: (limit: string) => void = () => {}) {
  const frames = new TokenBuckets();
  /** Answer bytes still allowed per tenant (negative: in debt), refilled evenly; a full one is dropped. */
  const bytes = new Map<string, { left: number; at: number }>();

  const byteLimits = () => {
    const ws = config().gateway.websocket;
    return { perSecond: ws.tenantAnswerBytesPerSecond, burst: ws.tenantAnswerBytesBurst };
  };
  const refilled = (tenantId: string, now: number) => {
    const { perSecond, burst } = byteLimits();
    const b = bytes.get(tenantId);
    if (!b) return { left: burst, at: now };
    return { left: Math.min(burst, b.left + ((now - b.at) * perSecond) / 1000), at: now };
  };

  function charge(tenantId: string, n: number): void {
    if (!(n > 0)) return;
    const b = refilled(tenantId, performance.now());
    b.left -= n;
    bytes.set(tenantId, b);
    if (bytes.size > MAX_TENANTS) sweep(b.at);
  }

  function inDebt(tenantId: string, now: number): FrameRefusal | null {
    const ws = config().gateway.websocket;
    const owed = refilled(tenantId, now);
    if (owed.left < 0) {
      bytes.set(tenantId, owed);
      const wait = Math.max(1, Math.ceil(-owed.left / ws.tenantAnswerBytesPerSecond));
      return {
        scope: "tenant",
        limit: "gateway.websocket.tenantAnswerBytesPerSecond",
        message: `too many bytes sent and answered for this tenant's RPC (${ws.tenantAnswerBytesPerSecond} bytes a second across all of its connections and requests after a burst of ${ws.tenantAnswerBytesBurst}: gateway.websocket.tenantAnswerBytesPerSecond); it was not run; retry in ${wait} s`,
        retryAfterSeconds: wait,
      };
    }
    return null;
  }

  function takeTenant(tenantId: string, now: number): FrameRefusal | null {
    const ws = config().gateway.websocket;
    const owed = inDebt(tenantId, now);
    if (owed) return owed;
    const wait = frames.take(tenantId, now, { perMinute: ws.tenantMessagesPerSecond * 60, burst: ws.tenantMessagesBurst });
    if (wait === null) return null;
    return {
      scope: "tenant",
      limit: "gateway.websocket.tenantMessagesPerSecond",
      message: `too many frames on this tenant's WebSocket connections together (${ws.tenantMessagesPerSecond} a second across all of them after a burst of ${ws.tenantMessagesBurst}: gateway.websocket.tenantMessagesPerSecond); it was not run; retry in ${wait} s`,
      retryAfterSeconds: wait,
    };
  }

  return {
    /** A new connection's budget: its own frame bucket plus its tenant's shared ones. */
    forConnection(tenantId: string): FrameBudget {
      const own = new TokenBuckets();
      /** Refusals this connection may be sent before it is closed: its own rate and burst again. */
      const refusals = new TokenBuckets();
      function decide(now: number): FrameRefusal | null {
        const ws = config().gateway.websocket;
        const wait = own.take("", now, { perMinute: ws.messagesPerSecond * 60, burst: ws.messagesBurst });
        if (wait !== null) {
          return {
            scope: "connection",
            limit: "gateway.websocket.messagesPerSecond",
            message: `too many frames on this connection (${ws.messagesPerSecond} a second after a burst of ${ws.messagesBurst}: gateway.websocket.messagesPerSecond); it was not run; retry in ${wait} s`,
            retryAfterSeconds: wait,
          };
        }
        return takeTenant(tenantId, now);
      }
      return {
        take(size: number): FrameRefusal | null {
          const now = performance.now();
          const no = decide(now);
          // Looked at either way: received bytes are the tenant's, refused or run.
          charge(tenantId, size);
          if (!no) return null;
          refused(no.limit);
          const ws = config().gateway.websocket;
          // Weighed by size (one per REFUSED_PARSE_CHARS): a flood of large frames must not outlast a flood of small ones.
          const weight = Math.max(1, Math.ceil(size / REFUSED_PARSE_CHARS));
          if (refusals.take("", now, { perMinute: ws.messagesPerSecond * 60, burst: ws.messagesBurst }, weight) === null) return no;
          return { ...no, close: true, message: `frames kept coming after being refused (${no.limit}): connection closed; reconnect after ${no.retryAfterSeconds} s and send slower` };
        },
        answered: (n: number) => charge(tenantId, n),
        roomForOutput: () => Math.max(0, refilled(tenantId, performance.now()).left - byteLimits().burst / 2),
      };
    },

    /** A POST /rpc request's view: the tenant's byte budget only (its places are admission's). */
    forRequest(tenantId: string): RequestBudget {
      return {
        take(size: number): FrameRefusal | null {
          const no = inDebt(tenantId, performance.now());
          charge(tenantId, size);
          if (no) refused(no.limit);
          return no;
        },
        answered: (n: number) => charge(tenantId, n),
      };
    },
  };

  /** Bounded: tenants whose byte budget refilled completely are forgotten (a new entry says the same). */
  function sweep(now: number): void {
    const { burst } = byteLimits();
    for (const k of bytes.keys()) if (refilled(k, now).left >= burst) bytes.delete(k);
  }
}

export type TenantBudget = ReturnType<typeof createTenantBudget>;
