// The requests of an authenticated v4 connection: `{type:"req", id, method, params}` frames in,
// `{type:"res", id, ok, payload|error}` out. Before each call: the connection's and its tenant's frame
// budget (ws.budget.ts, shared with /rpc; answers are charged to it), its requests in progress, the
// scope the method needs, the identity (a suspended tenant or a revoked token ends the connection,
// 4001), and the tenant's admission, the one every tenant surface takes (modules/admission): a place
// among its requests in progress, and for a changing method room above the disk reserve.
// A two-stage method (upstream's `agent`) answers twice on the same id: accepted, then final.
import { IdentityEnded, type TenantIdentity } from "../../edge/tenant-scope.ts";
import { CLOSE } from "../ws/ws.connections.ts";
import { type FrameBudget, REFUSED_PARSE_CHARS } from "../ws/ws.budget.ts";
import type { ProtocolShared } from "./connection.ts";
import { parseRequestFrame } from "./frames.ts";
import { toV4Error, type V4ErrorShape } from "./errors.ts";
import { scopeSatisfied } from "./handshake.ts";
import type { Scope, V4Context } from "./methods.ts";

/** Requests one connection may have in progress (a two-stage `agent` holds its place until final). */
export const MAX_IN_FLIGHT = 8;

export interface DispatcherDeps {
  shared: ProtocolShared;
  ctx: V4Context;
  identity: TenantIdentity;
  scopes: readonly Scope[];
  ip: string;
  send(text: string): void;
  end(code: number, reason: string): void;
}

type TwoStage = { twoStage: true; accepted: unknown; final: Promise<unknown> };
const isTwoStage = (v: unknown): v is TwoStage => typeof v === "object" && v !== null && (v as TwoStage).twoStage === true;

export class Dispatcher {
  private readonly budget: FrameBudget;
  private inFlight = 0;
  private closed = false;
  /** Frames that were not requests: the first is logged, the rest counted (said once, at close). */
  private ignored = 0;

  constructor(private readonly d: DispatcherDeps) {
    this.budget = d.shared.svc.wsConnections.frameBudget(d.identity.tenantId);
  }

  close(): void {
    this.closed = true;
    if (this.ignored > 1) this.d.shared.log.info("v4 frames ignored on this connection: not requests", { ip: this.d.ip, tenant: this.d.identity.tenantId, frames: this.ignored });
  }

  /** A frame after hello-ok (null: a binary frame) of `size` bytes (characters for text). */
  frame(text: string | null, size: number): void {
    // Every frame takes from the budget first, whatever it holds: one that is not a request must not
    // cost less than one that is (nor be free of the rate that bounds the connection's work).
    const refused = this.budget.take(size);
    if (refused?.close) {
      this.d.shared.log.info("v4 connection closed: frames kept coming after being refused", { ip: this.d.ip, tenant: this.d.identity.tenantId, limit: refused.limit });
      return this.d.end(1008, "frames kept coming after being refused");
    }
    // A refusal must cost less than the work it refuses: a large refused frame is not parsed (its id
    // is not known, so it is not answered; counted with the frames that were not requests).
    const f = refused && text !== null && text.length > REFUSED_PARSE_CHARS ? null : parseRequestFrame(text);
    if (!f) {
      // Nothing to answer to: ignored. Logged once per connection, counted after that — a line per
      // frame would let a client write the gateway's log as fast as it can send.
      if (this.ignored++ === 0) this.d.shared.log.info("v4 frame ignored: not a request (later ones on this connection are counted)", { ip: this.d.ip, tenant: this.d.identity.tenantId });
      return;
    }
    const { id, method } = f;
    if (refused) {
      return this.reply(id, { code: "UNAVAILABLE", message: refused.message, retryable: true, retryAfterMs: refused.retryAfterSeconds * 1000, details: { code: "RATE_LIMITED", limit: refused.limit } });
    }
    if (this.inFlight >= MAX_IN_FLIGHT) {
      return this.reply(id, { code: "UNAVAILABLE", message: `too many requests in progress on this connection (at most ${MAX_IN_FLIGHT}); wait for some to finish`, retryable: true, retryAfterMs: 1000 });
    }
    const params = f.params ?? {};
    if (typeof params !== "object" || params === null || Array.isArray(params)) {
      return this.reply(id, { code: "INVALID_REQUEST", message: `invalid ${method.slice(0, 100)} params: must be an object` });
    }
    void this.run(id, method, params as Record<string, unknown>);
  }

  private async run(id: string, name: string, params: Record<string, unknown>): Promise<void> {
    const method = this.d.shared.methods.get(name);
    if (!method) return this.reply(id, { code: "INVALID_REQUEST", message: `unknown method: ${name.slice(0, 200)}` });
    if (!scopeSatisfied(method.scope, this.d.scopes)) {
      return this.reply(id, { code: "FORBIDDEN", message: `missing scope: ${method.scope}`, details: { code: "MISSING_SCOPE", method: name, requiredScope: method.scope } });
    }
    this.inFlight++;
    let release: (() => void) | null = null;
    try {
      this.d.identity.assertCurrent();
      const admission = this.d.shared.svc.admission;
      // Held until the final answer: a two-stage `agent` is a place taken as long as RPC's chat.send + chat.wait.
      release = admission.admit(this.d.identity.tenantId);
      if (method.mutates) admission.admitChange(name);
      const out = await method.handle(this.d.ctx, params);
      if (!isTwoStage(out)) return this.result(id, out);
      this.result(id, out.accepted);
      this.result(id, await out.final);
    } catch (err) {
      if (err instanceof IdentityEnded) return this.d.end(CLOSE.identityEnded, "identity ended");
      const e = toV4Error(err);
      if (e.internal) this.d.shared.log.error("v4 method failed", { method: name, tenant: this.d.identity.tenantId, error: String(err) });
      delete e.internal;
      this.reply(id, e);
    } finally {
      release?.();
      this.inFlight--;
    }
  }

  /** A result, unless it is larger than what the connection may hold unsent (then an error instead). */
  private result(id: string, payload: unknown): void {
    if (this.closed) return;
    const text = JSON.stringify({ type: "res", id, ok: true, payload: payload ?? null });
    const max = this.d.shared.config().gateway.websocket.maxBufferedBytes;
    if (Buffer.byteLength(text) > max) {
      // Made but not sent: still charged, the work was done for the tenant.
      this.budget.answered(Buffer.byteLength(text));
      return this.reply(id, { code: "INVALID_REQUEST", message: `the result is larger than this connection may be sent at once (gateway.websocket.maxBufferedBytes, ${max} bytes); ask for less (a smaller limit)`, details: { code: "PAYLOAD_TOO_LARGE", limit: max } });
    }
    this.budget.answered(Buffer.byteLength(text));
    this.d.send(text);
  }

  private reply(id: string, error: V4ErrorShape): void {
    if (this.closed) return;
    this.d.send(JSON.stringify({ type: "res", id, ok: false, error }));
  }
}
