// A protocol-v4 connection without the transport: a V4Context that records the frames a method
// family emits, for the run and session methods (agent, chat.*, sessions.*) on a real agent runtime.
import type { TenantScope } from "../../../src/edge/tenant-scope.ts";
import { agentMethods } from "../../../src/modules/openclaw-protocol/methods/agent.ts";
import { chatMethods } from "../../../src/modules/openclaw-protocol/methods/chat.ts";
import { sessionsMethods } from "../../../src/modules/openclaw-protocol/methods/sessions.ts";
import type { V4Context, V4Method } from "../../../src/modules/openclaw-protocol/methods.ts";
import type { TurnDeps } from "../../../src/modules/openclaw-protocol/turns.ts";
import { createTenant, scope } from "../../helpers/core.ts";
import { agentWorld, type AgentWorld } from "../agents/world.ts";

export interface Frame {
  event: string;
  payload: any;
  /** Answers the connection had sent when this frame went (a method's ack counts once it resolved). */
  answered: number;
}

export interface FakeConn {
  ctx: V4Context;
  frames: Frame[];
  /** Calls a method as the dispatcher would; a two-stage answer is returned as {accepted, final}. */
  call(method: string, params?: Record<string, unknown>): Promise<any>;
  close(): void;
}

export function connect(svc: TurnDeps, tenant: TenantScope): FakeConn {
  const methods = new Map<string, V4Method>([...agentMethods(svc), ...chatMethods(svc), ...sessionsMethods(svc)].map((m) => [m.name, m]));
  const ac = new AbortController();
  const closers: (() => void)[] = [];
  const frames: Frame[] = [];
  let answered = 0;
  const ctx: V4Context = {
    tenant,
    connId: crypto.randomUUID(),
    emit: (event, payload) => void frames.push({ event, payload, answered }),
    signal: ac.signal,
    state: new Map(),
    onClose: (fn) => void closers.push(fn),
    batch: (fn) => fn(),
  };
  return {
    ctx,
    frames,
    async call(name, params = {}) {
      const m = methods.get(name);
      if (!m) throw new Error(`no method ${name}`);
      const r = await m.handle(ctx, params);
      answered++;
      return r;
    },
    close() {
      ac.abort();
      for (const fn of closers) fn();
    },
  };
}

export interface V4World extends AgentWorld {
  svc: TurnDeps;
  a: FakeConn;
  b: FakeConn;
  tokenB: string;
}

/** Two tenants (acme, beta), one connection each; `changeLimits` sets gateway.limits.tenantChangesPerMinute / Burst. */
export async function v4World(opts: { changeLimits?: { perMinute: number; burst: number } } = {}): Promise<V4World> {
  const l = opts.changeLimits;
  const w = await agentWorld(l ? { config: { gateway: { limits: { tenantChangesPerMinute: l.perMinute, tenantChangesBurst: l.burst } } } } : {});
  const tokenB = createTenant(w.core, "beta");
  const svc: TurnDeps = { runs: w.core.runs, sessions: w.core.sessions, events: w.core.events, admission: w.core.admission };
  const a = connect(svc, scope("acme"));
  const b = connect(svc, scope("beta"));
  const close = w.close;
  return {
    ...w,
    svc,
    a,
    b,
    tokenB,
    close: async () => {
      a.close();
      b.close();
      await close();
    },
  };
}

/** Waits until `pred` holds over the frames (or fails after `ms`). */
export async function until(conn: FakeConn, pred: (frames: Frame[]) => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred(conn.frames)) {
    if (Date.now() > end) throw new Error(`timed out; frames: ${JSON.stringify(conn.frames.map((f) => [f.event, f.payload.state ?? f.payload.stream ?? f.payload.reason]))}`);
    await Bun.sleep(5);
  }
}

export const isTerminal = (runId: string) => (frames: Frame[]) => frames.some((f) => f.event === "chat" && f.payload.runId === runId && ["final", "error", "aborted"].includes(f.payload.state));
