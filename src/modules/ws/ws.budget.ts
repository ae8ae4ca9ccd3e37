// What a tenant's WebSocket frames may make the gateway do, on every WebSocket surface (GET /rpc,
// protocol v4 on GET /, any later one): each frame takes a token from its connection's bucket
// (gateway.websocket.messagesPerSecond/Burst) AND from its tenant's bucket across all of the
// tenant's connections (tenantMessagesPerSecond/Burst), and the answers sent to the tenant's frames
// are charged to a per-tenant byte budget (tenantAnswerBytesPerSecond/Burst). A per-connection
// budget alone is multiplied by the connections a tenant may open (red team 14, F6: 16 × 50 frames/s
// × 512 KiB answers stalled the gateway for the other tenants). An answer is charged after it is
// made (its size is not known before), so the byte budget may go into debt by one answer; while it is
// in debt the tenant's next frames are refused, not run — that bounds the average. In memory only.
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
}

/** One connection's view of the budget: take() before running a frame, answered() after sending its answer. */
export interface FrameBudget {
  take(): FrameRefusal | null;
  answered(bytes: number): void;
}

const MAX_TENANTS = 100_000;

export function createTenantBudget(config: () => GatewayConfig) {
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

  function takeTenant(tenantId: string, now: number): FrameRefusal | null {
    const ws = config().gateway.websocket;
    const owed = refilled(tenantId, now);
    if (owed.left < 0) {
      bytes.set(tenantId, owed);
      const wait = Math.max(1, Math.ceil(-owed.left / ws.tenantAnswerBytesPerSecond));
      return {
        scope: "tenant",
        limit: "gateway.websocket.tenantAnswerBytesPerSecond",
        message: `too much answered to this tenant's WebSocket connections (${ws.tenantAnswerBytesPerSecond} bytes a second across all of them after a burst of ${ws.tenantAnswerBytesBurst}: gateway.websocket.tenantAnswerBytesPerSecond); it was not run; retry in ${wait} s`,
        retryAfterSeconds: wait,
      };
    }
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
      return {
        take(): FrameRefusal | null {
          const ws = config().gateway.websocket;
          const now = performance.now();
          const limits: BucketLimits = { perMinute: ws.messagesPerSecond * 60, burst: ws.messagesBurst };
          const wait = own.take("", now, limits);
          if (wait !== null) {
            return {
              scope: "connection",
              limit: "gateway.websocket.messagesPerSecond",
              message: `too many frames on this connection (${ws.messagesPerSecond} a second after a burst of ${ws.messagesBurst}: gateway.websocket.messagesPerSecond); it was not run; retry in ${wait} s`,
              retryAfterSeconds: wait,
            };
          }
          return takeTenant(tenantId, now);
        },
        answered(n: number): void {
          if (n <= 0) return;
          const b = refilled(tenantId, performance.now());
          b.left -= n;
          bytes.set(tenantId, b);
          if (bytes.size > MAX_TENANTS) sweep(b.at);
        },
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
