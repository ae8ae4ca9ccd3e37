// One upstream-protocol (v4) WebSocket on `/`, from its challenge to its close. Not yet anyone's when
// it opens: it is sent connect.challenge, and its first frame must be `connect`, checked against
// upstream's closed schema, protocol 4, an optional device proof over this connection's nonce, and the
// tenant token (verified by the edge's code and throttle). Every failure of authentication gets the one
// same answer and close 1008. Then it is the tenant's until it closes or the tenant stops: requests are
// dispatched to the method families (scope and identity checked before each), events carry the
// connection's `seq`, a tick keeps clients from timing out, and what waits unsent is bounded.
import type { ServerWebSocket } from "bun";
import crypto from "node:crypto";
import type { GatewayConfig } from "../../config/schema.ts";
import type { AppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { TenantIdentity } from "../../edge/tenant-scope.ts";
import { CLOSE, closeSocket, sendBounded } from "../ws/ws.connections.ts";
import { checkDeviceProof } from "./device.ts";
import { grantScopes, parseConnectParams, protocolMismatch, type ConnectParams } from "./handshake.ts";
import { helloOk, type Policy } from "./hello.ts";
import { Dispatcher } from "./dispatcher.ts";
import { parseRequestFrame } from "./frames.ts";
import { toV4Error, UNAUTHORIZED, type V4ErrorShape } from "./errors.ts";
import type { ConnectionHook } from "./methods/index.ts";
import type { V4Context, V4Method } from "./methods.ts";
import type { V4Services } from "./needs.ts";

/** What every connection shares (one per gateway). */
export interface ProtocolShared {
  svc: V4Services;
  methods: ReadonlyMap<string, V4Method>;
  methodNames: readonly string[];
  hooks: readonly ConnectionHook[];
  config(): GatewayConfig;
  log: Logger;
  version: string;
  now(): number;
}

/** What the HTTP layer gives a connection: who is calling, and the edge's own token check. */
export interface ConnectionAuth {
  ip: string;
  /** The identity the tenant token belongs to; throws (UNAUTHORIZED, RATE_LIMITED) after counting the failure. */
  authenticate(token: string | null): TenantIdentity;
  /** Counts a failed attempt that never reached the token check (a bad device proof) against the same throttle. */
  failed(token: string | null): void;
  /** Frees the connection's pre-authentication place (idempotent). */
  releasePending(): void;
}

/** Upstream's close for a gateway that is stopping ("service restart": its clients reconnect later). */
const SERVICE_RESTART = 1012;

type Socket = ServerWebSocket<V4Connection>;

export class V4Connection {
  readonly connId = crypto.randomUUID();
  readonly nonce = crypto.randomUUID();
  private ws: Socket | null = null;
  private seq = 0;
  private ended = false;
  /** A refusal was sent: its close follows, and no later frame is read. */
  private refused = false;
  private dispatcher: Dispatcher | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private readonly cleanup: (() => void)[] = [];
  private readonly connectedAt: number;

  constructor(
    private readonly shared: ProtocolShared,
    private readonly auth: ConnectionAuth,
    private readonly untrack: () => void,
  ) {
    this.connectedAt = shared.now();
    this.cleanup.push(untrack, () => auth.releasePending());
  }

  // Bun's websocket handlers (Elysia's server calls ws.data.open/message/close).

  open(ws: Socket): void {
    this.ws = ws;
    if (this.ended) return void ws.close(1000, "");
    this.sendEvent("connect.challenge", { nonce: this.nonce, ts: this.shared.now() }, false);
    const ms = this.shared.config().gateway.openclawProtocol.handshakeTimeoutMs;
    // Upstream closes a connection that has not authenticated in time normally (1000), with no answer.
    this.timer = setTimeout(() => !this.dispatcher && this.end(1000, "handshake timeout"), ms);
  }

  message(_ws: Socket, message: string | Buffer): void {
    if (this.ended || this.refused) return;
    const text = typeof message === "string" ? message : null;
    if (this.dispatcher) return this.dispatcher.frame(text, message.length);
    this.handshake(text);
  }

  close(): void {
    this.end(1000, "");
  }

  /** Ends the connection (idempotent): the gateway's drain tells it `shutdown` first. */
  end(code: number, reason: string): void {
    if (this.ended) return;
    if (code === CLOSE.goingAway) {
      if (this.dispatcher) this.sendEvent("shutdown", { reason: "gateway stopping" });
      code = SERVICE_RESTART;
      reason = "service restart";
    }
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.ticker) clearInterval(this.ticker);
    this.dispatcher?.close();
    for (const f of this.cleanup.splice(0)) {
      try {
        f();
      } catch (err) {
        this.shared.log.warn("cleaning up a v4 connection failed", { error: String(err) });
      }
    }
    const ws = this.ws;
    if (!ws || (code === 1000 && reason === "")) return;
    closeSocket(ws, code, reason);
  }

  /** The first frame: `connect`, or the connection ends. */
  private handshake(text: string | null): void {
    const frame = parseRequestFrame(text);
    if (!frame) return this.end(1008, "invalid request frame");
    const id = frame.id;
    if (frame.method !== "connect") return this.refuse(id, { code: "INVALID_REQUEST", message: "invalid handshake: first request must be connect" }, 1008);
    const parsed = parseConnectParams(frame.params);
    if (!parsed.ok) return this.refuse(id, { code: "INVALID_REQUEST", message: parsed.message }, 1008);
    const p = parsed.params;
    const mismatch = protocolMismatch(p);
    if (mismatch) return this.refuse(id, { code: "INVALID_REQUEST", message: "protocol mismatch", details: mismatch }, 1002);
    const tenant = this.authenticate(p);
    if (!tenant) return this.refuse(id, UNAUTHORIZED, 1008);
    this.accept(id, p, tenant);
  }

  /** The tenant the connect's credentials name, or null (counted by the throttle, logged with why). */
  private authenticate(p: ConnectParams): TenantIdentity | null {
    const role = p.role ?? "operator";
    const token = p.auth?.token ?? p.auth?.password ?? null;
    const proof = checkDeviceProof({ params: p, nonce: this.nonce, role, now: this.shared.now() });
    if (proof !== null || role !== "operator") {
      this.auth.failed(token);
      this.shared.log.info("v4 connect refused", { ip: this.auth.ip, reason: proof ?? "role" });
      return null;
    }
    try {
      return this.auth.authenticate(token);
    } catch (err) {
      this.shared.log.info("v4 connect refused", { ip: this.auth.ip, reason: (err as AppError).code ?? "unauthorized" });
      return null;
    }
  }

  private accept(id: string, p: ConnectParams, tenant: TenantIdentity): void {
    const { svc } = this.shared;
    let releaseSlot: () => void;
    try {
      releaseSlot = svc.wsConnections.reserve(tenant.tenantId);
    } catch (err) {
      const e = toV4Error(err);
      return this.refuse(id, { code: "UNAVAILABLE", message: e.message, retryable: true, retryAfterMs: e.retryAfterMs ?? 5000 }, 1013);
    }
    this.cleanup.push(releaseSlot);
    try {
      // In the same tick as the bus subscriptions the hooks make: the incarnation the token named.
      tenant.assertCurrent();
    } catch {
      return this.refuse(id, UNAUTHORIZED, 1008);
    }
    // It is the tenant's now: counted in the tenant's caps and ended with the tenant's connections.
    this.auth.releasePending();
    this.untrack();
    const abort = new AbortController();
    const state = new Map<string, unknown>();
    const closers: (() => void)[] = [];
    const ctx: V4Context = {
      tenant,
      connId: this.connId,
      emit: (event, payload) => this.sendEvent(event, payload),
      signal: abort.signal,
      state,
      onClose: (fn) => void (abort.signal.aborted ? fn() : closers.push(fn)),
      batch: (fn) => {
        const ws = this.ws;
        if (ws && !this.ended) ws.cork(() => fn());
        else fn();
      },
    };
    this.cleanup.push(() => {
      abort.abort();
      for (const f of closers.splice(0)) {
        try {
          f();
        } catch (err) {
          this.shared.log.warn("a v4 connection's onClose failed", { error: String(err) });
        }
      }
      state.clear();
    });
    this.cleanup.push(svc.wsConnections.add({ work: { tenantId: tenant.tenantId, incarnation: tenant.incarnation, token: tenant.actor.id }, end: (code, reason) => this.end(code, reason) }));
    const scopes = grantScopes(p.scopes);
    const policy = this.policy();
    let hello: ReturnType<typeof helloOk>;
    try {
      hello = helloOk({ svc, tenant, version: this.shared.version, connId: this.connId, methods: this.shared.methodNames, scopes, policy, connectedAt: this.connectedAt, now: this.shared.now() });
    } catch (err) {
      // The snapshot reads the tenant's sessions: a failure there is ours, said as nothing more than that.
      this.shared.log.error("v4 hello-ok could not be built", { tenant: tenant.tenantId, error: String(err) });
      return this.refuse(id, { code: "UNAVAILABLE", message: "internal error", retryable: true, retryAfterMs: 1000 }, 1011);
    }
    this.dispatcher = new Dispatcher({ shared: this.shared, ctx, identity: tenant, scopes, send: (t) => this.send(t), end: (c, r) => this.end(c, r), ip: this.auth.ip });
    this.send(JSON.stringify({ type: "res", id, ok: true, payload: hello }));
    this.ticker = setInterval(() => this.sendEvent("tick", { ts: this.shared.now() }), policy.tickIntervalMs);
    for (const hook of this.shared.hooks) {
      try {
        hook(svc, ctx);
      } catch (err) {
        this.shared.log.error("a v4 connection hook failed", { error: String(err) });
        return this.end(1011, "internal error");
      }
    }
  }

  /** The limits hello-ok advertises are the ones enforced: Bun's frame cap, our unsent-bytes cap, the tick. */
  private policy(): Policy {
    const c = this.shared.config().gateway;
    return { maxPayload: c.websocket.maxMessageBytes, maxBufferedBytes: c.websocket.maxBufferedBytes, tickIntervalMs: c.openclawProtocol.tickIntervalMs };
  }

  private refuse(id: string, error: V4ErrorShape, code: number): void {
    this.refused = true;
    this.send(JSON.stringify({ type: "res", id, ok: false, error }));
    // After the answer is on its way (as upstream: the client reads the error before the close).
    // A close reason is at most 123 bytes; the message may quote a client's key (any characters).
    queueMicrotask(() => this.end(code, Buffer.from(error.message).subarray(0, 116).toString()));
  }

  /** An event with the connection's next `seq` (connect.challenge has none, as upstream's). */
  private sendEvent(event: string, payload: unknown, withSeq = true): void {
    if (this.ended) return;
    let text: string;
    try {
      text = JSON.stringify(withSeq ? { type: "event", event, payload, seq: ++this.seq } : { type: "event", event, payload });
    } catch (err) {
      this.shared.log.warn("a v4 event could not be serialised", { event, error: String(err) });
      return;
    }
    this.send(text);
  }

  /**
   * Sends unless too much already waits for this client: past gateway.websocket.maxBufferedBytes the
   * connection is closed (4008), so at most that plus one frame is ever held for it.
   */
  private send(text: string): void {
    const ws = this.ws;
    if (!ws || this.ended) return;
    const err = sendBounded(ws, text, this.shared.config().gateway.websocket.maxBufferedBytes, (code, reason) => this.end(code, reason));
    if (err) this.shared.log.warn("v4 send failed", { error: String(err) });
  }
}
