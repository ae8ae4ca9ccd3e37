// One tenant WebSocket on GET /rpc, after its handshake: JSON-RPC 2.0 frames in (the same registry and
// dispatcher as POST /rpc, the same per-item identity check, depth cap and budgets), responses and the
// tenant's events out, each event as a notification with the connection's own `seq`.
//
// Nothing a client does can make the gateway hold much for it: a frame is at most maxMessageBytes
// (Bun closes with 1009 past it), frames are rate-limited per connection and per tenant, answers are
// charged to the tenant's byte budget (ws.budget.ts), each takes one of the tenant's RPC places while
// it runs, and what waits to be sent is bounded — a client that reads slower than it is told
// things is closed (4008) instead of being buffered for, and the publisher (an agent run) never waits
// for it or hears of it.
import type { ServerWebSocket } from "bun";
import type { Core } from "../app/core.ts";
import { AppError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { OpContext } from "../edge/actor.ts";
import type { RpcConnection } from "../edge/rpc.ts";
import { IdentityEnded, type TenantIdentity } from "../edge/tenant-scope.ts";
import { newRequestId } from "../lib/ids.ts";
import type { TenantEvent } from "../modules/events/events.service.ts";
import { CLOSE, CLOSE_GRACE_MS, closeSocket, sendBounded } from "../modules/ws/ws.connections.ts";
import { type FrameBudget, REFUSED_PARSE_CHARS } from "../modules/ws/ws.budget.ts";
import { MAX_SUBSCRIBED } from "../modules/ws/ws.rpc.ts";
import { dispatch, refuseAll } from "./rpc-dispatch.ts";
import type { Admission as RpcAdmission } from "../modules/admission/admission.service.ts";
import type { RpcRegistry } from "./rpc-registry.ts";

/** What every connection shares (one per app). */
export interface WsShared {
  core: Core;
  registry: RpcRegistry;
  admission: RpcAdmission;
  log: Logger;
}

type Socket = ServerWebSocket<WsRpcConnection>;

export class WsRpcConnection implements RpcConnection {
  private ws: Socket | null = null;
  private seq = 0;
  /** null: every event of the tenant; else only these sessions' (and events that name none). */
  private sessions: Set<string> | null = null;
  /** Its frame bucket and its tenant's (shared with the tenant's other connections, on every surface). */
  private readonly budget: FrameBudget;
  private ended = false;
  /**
   * Set when the connection's identity ended while frames were running: no new frame runs and no
   * event is told, but the running frames' replies still go out before the close — the frame that
   * ended the identity (tenants.rotate) carries the only copy of the new token (red team 13, F1b).
   */
  private closing: { code: number; reason: string } | null = null;
  private inFlight = 0;
  private inFlightDone: (() => void) | null = null;
  private cleanup: (() => void)[] = [];

  constructor(
    private readonly shared: WsShared,
    private readonly tenant: TenantIdentity,
    private readonly caller: { ip: string; clientRequestId?: string },
    private readonly refuseOther: (named: string, method: string) => never,
    releaseSlot: () => void,
  ) {
    this.cleanup.push(releaseSlot);
    this.budget = shared.core.wsConnections.frameBudget(tenant.tenantId);
  }

  // Bun's websocket handlers (Elysia's server calls ws.data.open/message/close/drain).

  open(ws: Socket): void {
    this.ws = ws;
    if (this.ended) return void ws.close(CLOSE.identityEnded, "identity ended");
    const { core } = this.shared;
    try {
      // Checked in the same tick as the subscription: the bus listens to the tenant's current
      // incarnation, which must be the one the handshake authenticated.
      this.tenant.assertCurrent();
    } catch {
      return this.end(CLOSE.identityEnded, "identity ended");
    }
    this.cleanup.push(core.events.subscribe(this.tenant, (e) => this.onEvent(e)));
    this.cleanup.push(
      core.wsConnections.add({
        work: { tenantId: this.tenant.tenantId, incarnation: this.tenant.incarnation, token: this.tenant.actor.id },
        end: (code, reason, now) => this.end(code, reason, now),
        session: this.tenant.consoleSession,
      }),
    );
  }

  message(_ws: Socket, message: string | Buffer): void {
    if (this.ended || this.closing) return;
    const requestId = newRequestId();
    const limits = this.shared.core.config.gateway.limits;
    // Every frame takes from the budget before it is looked at, binary and garbage ones too: a frame
    // that cannot run must not cost less than one that can, nor be answered at any rate.
    const refused = this.budget.take(message.length);
    if (refused?.close) {
      return this.end(1008, "frames kept coming after being refused");
    }
    if (refused) {
      const err = new AppError("RATE_LIMITED", refused.message, { details: { retryAfterSeconds: refused.retryAfterSeconds, limit: refused.limit } });
      // Only a small frame is parsed to refuse each of its ids; a larger one is refused as a whole (id null).
      const out = typeof message === "string" && message.length <= REFUSED_PARSE_CHARS ? refuseAll(message, err, requestId, limits.jsonMaxDepth) : refuseAll("null", err, requestId, limits.jsonMaxDepth);
      if (out) this.send(out);
      return;
    }
    if (typeof message !== "string") {
      this.send(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "Invalid Request: send JSON-RPC as text frames", data: { code: "BAD_REQUEST", requestId } } }));
      return;
    }
    void this.run(message, requestId);
  }

  close(): void {
    this.end(1000, "");
  }

  // RpcConnection (sessions.subscribe / sessions.unsubscribe; terminal.* notify and onClose).

  subscribe(keys: readonly string[]): string[] {
    const next = new Set(this.sessions ?? []);
    for (const k of keys) next.add(k);
    if (next.size > MAX_SUBSCRIBED) {
      throw new AppError("INVALID_PARAMS", `a connection may single out at most ${MAX_SUBSCRIBED} sessions (it has ${this.sessions?.size ?? 0}); unsubscribe some first`, { details: { limit: MAX_SUBSCRIBED } });
    }
    this.sessions = next;
    return [...next];
  }

  unsubscribe(keys?: readonly string[]): string[] {
    if (!keys) this.sessions = null;
    else if (this.sessions) {
      for (const k of keys) this.sessions.delete(k);
      if (this.sessions.size === 0) this.sessions = null;
    }
    return [...(this.sessions ?? [])];
  }

  notify(method: string, params: Record<string, unknown>): boolean {
    if (this.ended || this.closing || !this.ws || !this.stillCurrent()) return false;
    const text = JSON.stringify({ jsonrpc: "2.0", method, params });
    this.budget.answered(text.length);
    this.send(text);
    return !this.ended;
  }

  roomForOutput(): number {
    return this.budget.roomForOutput();
  }

  onClose(fn: () => void): () => void {
    if (this.ended) {
      fn();
      return () => {};
    }
    let on = true;
    this.cleanup.push(() => on && fn());
    return () => void (on = false);
  }

  /**
   * Ends the connection with a close code (idempotent): stops listening, frees its place, closes.
   * When its identity ended while frames run, the close waits for their replies (at most
   * CLOSE_GRACE_MS; a frame still running then loses its reply) — unless `now`: a sign-out closes at
   * once, and what a running frame reads after it is told to no one (red team 20, F1).
   */
  end(code: number, reason: string, now = false): void {
    if (this.ended) return;
    if (code === CLOSE.identityEnded && this.inFlight > 0 && !this.closing && !now) {
      this.closing = { code, reason };
      this.releaseAll();
      this.inFlightDone = () => this.end(code, reason);
      setTimeout(() => {
        this.inFlight = 0;
        this.end(code, reason);
      }, CLOSE_GRACE_MS).unref();
      return;
    }
    if (this.closing && this.inFlight > 0 && !now) return;
    this.ended = true;
    this.releaseAll();
    const ws = this.ws;
    if (!ws || code === 1000) return;
    closeSocket(ws, code, reason);
    if (code !== CLOSE.goingAway) this.shared.log.info("WebSocket closed by the gateway", { tenant: this.tenant.tenantId, code, reason, ip: this.caller.ip });
  }

  /** Stops listening and frees the connection's place (once). */
  private releaseAll(): void {
    for (const f of this.cleanup.splice(0)) {
      try {
        f();
      } catch (err) {
        this.shared.log.warn("cleaning up a WebSocket failed", { error: String(err) });
      }
    }
  }

  private async run(text: string, requestId: string): Promise<void> {
    this.inFlight++;
    try {
      await this.runFrame(text, requestId);
    } finally {
      this.inFlight = Math.max(0, this.inFlight - 1);
      if (this.inFlight === 0 && this.inFlightDone) this.inFlightDone();
    }
  }

  /** A frame the tenant sent: dispatched like a POST /rpc body, holding one of the tenant's places while it runs. */
  private async runFrame(text: string, requestId: string): Promise<void> {
    const { core, registry, admission, log } = this.shared;
    const l = core.config.gateway.limits;
    const tenantId = this.tenant.tenantId;
    let release: () => void;
    try {
      release = admission.admit(tenantId);
    } catch (err) {
      const out = refuseAll(text, err as AppError, requestId, l.jsonMaxDepth);
      if (out) this.send(out);
      return;
    }
    try {
      const op: OpContext = { actor: this.tenant.actor, requestId, clientRequestId: this.caller.clientRequestId, ip: this.caller.ip };
      const budget = Math.min(l.rpcResponseBytes, core.config.gateway.websocket.maxBufferedBytes);
      const out = await dispatch(
        registry,
        text,
        { tenant: this.tenant, op, refuseOther: this.refuseOther, connection: this },
        {
          maxDepth: l.jsonMaxDepth,
          responseBytes: budget,
          responseBytesKey: budget === l.rpcResponseBytes ? "gateway.limits.rpcResponseBytes" : "gateway.websocket.maxBufferedBytes",
          takeChange: () => admission.takeChange(tenantId),
          changesPerMinute: l.tenantChangesPerMinute,
          admitChange: admission.admitChange,
          // Every result made is charged, sent or not (one too large to send was still made).
          charge: (n) => this.budget.answered(n),
          log,
        },
      );
      if (out) this.send(out.batch ? `[${out.parts.join(",")}]` : out.parts[0]!);
    } catch (err) {
      if (err instanceof IdentityEnded) this.end(CLOSE.identityEnded, "identity ended");
      else {
        log.error("WebSocket frame failed", { requestId, error: String(err) });
        this.send(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32603, message: "internal error", data: { code: "INTERNAL", requestId } } }));
      }
    } finally {
      release();
    }
  }

  /**
   * Whether the connection's identity still holds, checked before anything is pushed to it (an event,
   * a terminal's output): a connection that only listens sends no frame that would find out, and a
   * console session signed out, expired or evicted has no token whose revocation ends the connection
   * (red team 19, F1). One that no longer holds is closed as an ended identity, told nothing more.
   */
  private stillCurrent(): boolean {
    try {
      this.tenant.assertCurrent();
      return true;
    } catch (err) {
      if (!(err instanceof IdentityEnded)) this.shared.log.warn("re-checking a WebSocket's identity failed", { error: String(err) });
      this.end(CLOSE.identityEnded, "identity ended");
      return false;
    }
  }

  /** A tenant event: told unless the connection singled out other sessions. Never throws (the bus would drop it). */
  private onEvent(e: TenantEvent): void {
    if (this.ended || this.closing || !this.stillCurrent()) return;
    if (this.sessions && e.sessionKey !== undefined && !this.sessions.has(e.sessionKey)) return;
    let text: string;
    try {
      text = JSON.stringify({ jsonrpc: "2.0", method: e.method, params: { ...e.params, seq: ++this.seq } });
    } catch (err) {
      this.shared.log.warn("an event could not be serialised", { method: e.method, error: String(err) });
      return;
    }
    this.send(text);
  }

  /**
   * Sends unless too much already waits for this client: past gateway.websocket.maxBufferedBytes the
   * connection is closed (4008) — so at most that plus one message is ever held for it.
   */
  private send(text: string): void {
    const ws = this.ws;
    if (!ws || this.ended) return;
    const err = sendBounded(ws, text, this.shared.core.config.gateway.websocket.maxBufferedBytes, (code, reason) => this.end(code, reason));
    if (err) this.shared.log.warn("WebSocket send failed", { error: String(err) });
  }
}
