// src/modules/openclaw-protocol/methods.ts
import type { TenantScope } from "../../edge/tenant-scope.ts";
export type Scope = "operator.read" | "operator.write";
/** What a method handler gets: the tenant (re-checked current before every call), and a way to push events to THIS connection. */
export interface V4Context {
  tenant: TenantScope;
  connId: string;
  /** Push an event frame to this connection (the connection adds the per-connection `seq`). */
  emit(event: string, payload: unknown): void;
  /** Ended when the connection closes or the tenant stops (suspend, delete, token rotation). */
  signal: AbortSignal;
  /** Per-connection state a method family may keep (e.g. the sessions.subscribe flag); cleared on close. */
  state: Map<string, unknown>;
  /** Register a cleanup to run when the connection closes. */
  onClose(fn: () => void): void;
  /**
   * Runs `fn` with the connection's sends corked: the frames it emits leave in one write, not one
   * write (and one wake-up of the client) per frame — a run's held events, an event that becomes
   * several frames.
   */
  batch(fn: () => void): void;
}
/** Upstream's error shape: {code, message, details?, retryable?, retryAfterMs?}. Throw V4Error from handlers. */
export class V4Error extends Error {
  constructor(public code: "INVALID_REQUEST" | "NOT_FOUND" | "FORBIDDEN" | "UNAVAILABLE" | "NOT_PAIRED", message: string, public details?: Record<string, unknown>, public retryable?: boolean, public retryAfterMs?: number) { super(message); }
}
export interface V4Method {
  name: string;
  /** The scope a connection needs for it (read for queries, write for sending/changing). */
  scope: Scope;
  /**
   * Whether it changes the tenant's state (starts a run, aborts one, resets or deletes a session): such
   * a method is refused under the disk reserve before it runs, as a changing RPC method is. Declared
   * by every method, so one added later cannot skip the check by forgetting it.
   */
  mutates: boolean;
  /**
   * The `res` payload. A two-stage method (upstream's `agent`) returns `{ accepted, final }`: the
   * connection sends `accepted` as the first `res` and the awaited `final` as a second `res` with the same id.
   */
  handle(ctx: V4Context, params: Record<string, unknown>): Promise<unknown | { twoStage: true; accepted: unknown; final: Promise<unknown> }>;
}
/** Events a module may send (exactly what hello-ok lists in features.events). */
export type V4EventName = "connect.challenge" | "tick" | "health" | "shutdown" | "chat" | "agent" | "sessions.changed" | "session.message" | "cron";
