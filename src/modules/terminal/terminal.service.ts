// Web terminals: a PTY whose process — the tenant's shell — runs in the tenant's sandbox exactly as
// sandbox.exec's commands do (sandbox.run with `terminal`: same mode, limits, egress, identity, disk
// watch, run record and stop on tenant stop). The gateway holds the PTY master; the output goes as
// text to the ONE connection attached to the terminal, and into a 64 KiB replay kept for a reconnect.
// A terminal outlives its connection for gateway.terminal.reconnectSeconds, attachable only by the
// same tenant incarnation; it is closed on idle, on its lifetime, on tenant stop, or by its owner —
// each close audited once, with the reason.
import type { GatewayConfig } from "../../config/schema.ts";
import type { Clock } from "../../core/clock.ts";
import { AppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { Timers } from "../../core/timers.ts";
import type { OpContext } from "../../edge/actor.ts";
import type { RpcConnection } from "../../edge/rpc.ts";
import type { TenantIdentity, TenantScope } from "../../edge/tenant-scope.ts";
import { randomBase62 } from "../../lib/base62.ts";
import { opAudit } from "../audit/audit.record.ts";
import type { AuditLog } from "../audit/audit.service.ts";
import type { TenantStop } from "../module.ts";
import type { SandboxService } from "../sandbox/sandbox.service.ts";
import type { FeatureMount, PtyControl, RunResult } from "../sandbox/sandbox.types.ts";
import { charsFor, HOLD_MS, pushReplay, unsentTail } from "./terminal.flow.ts";

/** The tenant's shell: interactive, in its workspace (/work, the sandbox's working directory). */
export const SHELL = ["/bin/sh", "-i"];

export type CloseReason = "closed" | "exit" | "idle" | "detached" | "lifetime" | "disk" | "tenant-suspended" | "tenant-deleted" | "tenant-replaced" | "token-revoked" | "gateway-stopping";

interface Term {
  id: string;
  tenantId: string;
  incarnation: string;
  token: string;
  createdAt: number;
  cols: number;
  rows: number;
  mode: string;
  pty: PtyControl | null;
  conn: RpcConnection | null;
  unhook: () => void;
  replay: string[];
  replayChars: number;
  /** Characters of output so far, and how many of them the attached connection was told (or has in a replay). */
  total: number;
  told: number;
  holding: boolean;
  seq: number;
  decoder: TextDecoder;
  lastActivity: number;
  cancelIdle: () => void;
  cancelDetach: () => void;
  abort: AbortController;
  /** Set by whoever ends it first (the gateway's reason wins over the exit it causes). */
  reason: CloseReason | null;
  /** Who closed it, when its owner did (else the close is recorded as the gateway's). */
  closedBy: OpContext | null;
  done: Promise<void>;
}

export interface TerminalDeps {
  sandbox: SandboxService;
  audit: AuditLog;
  /** Read-only folders the tenant's exec runs see (its skills at /mnt/skills): a terminal sees the same. */
  mounts?(tenant: TenantScope): readonly FeatureMount[];
  config: () => GatewayConfig;
  clock: Clock;
  timers: Timers;
  log: Logger;
}

const notFound = () => new AppError("NOT_FOUND", "terminal not found");

export function createTerminalService(deps: TerminalDeps) {
  const terms = new Map<string, Term>();
  const cfg = () => deps.config().gateway.terminal;
  const system = (t: Term): OpContext => ({ actor: { kind: "system", id: `terminal:${t.id}` }, requestId: `term_${t.id}` });

  /** The caller's own terminal, else the identical NOT_FOUND (another tenant's looks like none). */
  const own = (identity: TenantIdentity, id: string): Term => {
    const t = terms.get(id);
    if (!t || t.tenantId !== identity.tenantId || t.incarnation !== identity.incarnation || t.reason) throw notFound();
    return t;
  };

  function send(t: Term, method: string, params: Record<string, unknown>): void {
    if (t.conn && !t.conn.notify(method, params)) detach(t);
  }

  function output(t: Term, bytes: Uint8Array): void {
    const text = t.decoder.decode(bytes, { stream: true });
    if (!text) return;
    t.lastActivity = deps.clock.now();
    pushReplay(t, text);
    t.total += text.length;
    tell(t, false);
  }

  /** Tells the attached connection the output it has not had, when the tenant's byte budget allows (or `force`). */
  function tell(t: Term, force: boolean): void {
    if (!t.conn) t.told = t.total; // detached: a reconnect gets the replay
    if (t.told === t.total || t.holding) return;
    const max = force ? Infinity : charsFor(t.conn!.roomForOutput());
    if (max === 0) {
      t.holding = true;
      deps.timers.setTimer(() => {
        t.holding = false;
        if (!t.reason) tell(t, false);
      }, HOLD_MS);
      return;
    }
    const data = unsentTail(t, t.total - t.told, max);
    t.told = t.total;
    send(t, "terminal.output", { terminalId: t.id, data, seq: ++t.seq });
  }

  function armIdle(t: Term): void {
    const idleMs = cfg().idleTimeoutSeconds * 1000;
    t.cancelIdle = deps.timers.setTimer(() => {
      if (t.reason) return;
      const quiet = deps.clock.now() - t.lastActivity;
      if (quiet >= idleMs) end(t, "idle");
      else armIdle(t);
    }, idleMs - (deps.clock.now() - t.lastActivity));
  }

  /** The connection went away (closed, or too slow): the terminal waits for a reconnect. */
  function detach(t: Term): void {
    t.unhook();
    t.unhook = () => {};
    t.conn = null;
    if (t.reason) return;
    t.cancelDetach();
    t.cancelDetach = deps.timers.setTimer(() => end(t, "detached"), cfg().reconnectSeconds * 1000);
  }

  function attachTo(t: Term, conn: RpcConnection): void {
    if (t.conn === conn) return;
    // One connection per terminal: the one attached before hears nothing more of it.
    t.unhook();
    t.cancelDetach();
    t.cancelDetach = () => {};
    t.conn = conn;
    t.told = t.total; // what came before is in the replay terminal.attach answers
    t.unhook = conn.onClose(() => t.conn === conn && detach(t));
  }

  /** Ends the terminal's process (its run settles and `finish` records the close). */
  function end(t: Term, reason: CloseReason, by: OpContext | null = null): void {
    if (t.reason) return;
    t.reason = reason;
    t.closedBy = by;
    t.abort.abort();
  }

  function finish(t: Term, result: RunResult | null, error: unknown): void {
    const killed = result?.killedReason;
    const reason: CloseReason =
      t.reason ?? (killed === "timeout" ? "lifetime" : killed === "disk-limit" || killed === "disk-reserve" ? "disk" : killed && killed !== "aborted" ? killed : "exit");
    t.reason = reason;
    t.cancelIdle();
    t.cancelDetach();
    terms.delete(t.id);
    const code = result?.exitCode ?? null;
    const tail = t.decoder.decode();
    if (tail) pushReplay(t, tail);
    t.total += tail.length;
    t.holding = false;
    tell(t, true);
    send(t, "terminal.exit", { terminalId: t.id, code, reason });
    t.unhook();
    if (error) deps.log.warn("a terminal's sandbox failed", { tenant: t.tenantId, terminal: t.id, error: String(error) });
    try {
      deps.audit.record(opAudit(t.closedBy ?? system(t), "terminal.close", { type: "terminal", id: t.id }, t.tenantId, { reason, exitCode: code, runId: result?.runId ?? null, seconds: Math.round((deps.clock.now() - t.createdAt) / 1000) }));
    } catch (err) {
      deps.log.error("the audit record of a terminal's close failed", { tenant: t.tenantId, terminal: t.id, error: String(err) });
    }
  }

  return {
    /** Opens a terminal attached to `conn`; settles once its shell has started (or refuses, with why). */
    async open(identity: TenantIdentity, size: { cols: number; rows: number }, conn: RpcConnection, op: OpContext): Promise<{ terminalId: string; mode: string }> {
      identity.assertCurrent();
      const c = cfg();
      const mine = [...terms.values()].filter((t) => t.tenantId === identity.tenantId).length;
      if (mine >= c.maxPerTenant) throw new AppError("QUOTA_EXCEEDED", `this tenant has ${mine} terminals open, the most it may have (gateway.terminal.maxPerTenant = ${c.maxPerTenant}); close one first`, { details: { limit: c.maxPerTenant } });
      if (terms.size >= c.maxTotal) throw new AppError("RATE_LIMITED", `the gateway has as many terminals open as it allows (gateway.terminal.maxTotal = ${c.maxTotal}); retry later`, { headers: { "retry-after": "30" } });
      const now = deps.clock.now();
      const t: Term = {
        id: `term_${randomBase62(20)}`,
        tenantId: identity.tenantId,
        incarnation: identity.incarnation,
        token: identity.actor.id,
        createdAt: now,
        cols: size.cols,
        rows: size.rows,
        mode: deps.sandbox.info(identity).mode,
        pty: null,
        conn: null,
        unhook: () => {},
        replay: [],
        replayChars: 0,
        total: 0,
        told: 0,
        holding: false,
        seq: 0,
        decoder: new TextDecoder("utf-8"),
        lastActivity: now,
        cancelIdle: () => {},
        cancelDetach: () => {},
        abort: new AbortController(),
        reason: null,
        closedBy: null,
        done: Promise.resolve(),
      };
      // Counted from here, so concurrent opens cannot pass the caps together.
      terms.set(t.id, t);
      let opened!: () => void;
      const started = new Promise<void>((r) => (opened = r));
      const run = deps.sandbox.run({
        tenant: identity,
        command: SHELL,
        origin: "rpc",
        token: identity.actor.id,
        signal: t.abort.signal,
        mounts: deps.mounts?.(identity),
        terminal: {
          cols: size.cols,
          rows: size.rows,
          lifetimeSeconds: c.maxLifetimeSeconds,
          onData: (bytes) => output(t, bytes),
          onOpen: (pty) => {
            t.pty = pty;
            opened();
          },
        },
      });
      const first = await Promise.race([started.then(() => "started" as const), run.then(() => "ended" as const, () => "failed" as const)]);
      if (first !== "started") {
        terms.delete(t.id);
        await run; // throws the refusal (mode unavailable, suspended, disk limit …)
        throw new AppError("UNAVAILABLE", "the terminal's shell ended before it started");
      }
      t.done = run.then(
        (r) => finish(t, r, null),
        (err) => finish(t, null, err),
      );
      try {
        deps.audit.record(opAudit(op, "terminal.open", { type: "terminal", id: t.id }, t.tenantId, { mode: t.mode, cols: size.cols, rows: size.rows }));
      } catch (err) {
        // An open that cannot be audited does not stay open.
        end(t, "closed");
        throw err;
      }
      attachTo(t, conn);
      armIdle(t);
      return { terminalId: t.id, mode: t.mode };
    },

    attach(identity: TenantIdentity, id: string, conn: RpcConnection): { terminalId: string; replay: string } {
      identity.assertCurrent();
      const t = own(identity, id);
      attachTo(t, conn);
      t.lastActivity = deps.clock.now();
      return { terminalId: t.id, replay: t.replay.join("") };
    },

    input(identity: TenantIdentity, id: string, data: string): void {
      // A keystroke is work done for the tenant: its identity must still hold (token, incarnation, status).
      identity.assertCurrent();
      const t = own(identity, id);
      t.lastActivity = deps.clock.now();
      t.pty?.write(data);
    },

    resize(identity: TenantIdentity, id: string, size: { cols: number; rows: number }): void {
      identity.assertCurrent();
      const t = own(identity, id);
      t.cols = size.cols;
      t.rows = size.rows;
      t.pty?.resize(size.cols, size.rows);
    },

    /** Closes the terminal; settles once its process has ended and the close is recorded. */
    async close(identity: TenantIdentity, id: string, op: OpContext): Promise<void> {
      identity.assertCurrent();
      const t = own(identity, id);
      end(t, "closed", op);
      await t.done;
    },

    list(identity: TenantIdentity, conn?: RpcConnection) {
      return [...terms.values()]
        .filter((t) => t.tenantId === identity.tenantId && t.incarnation === identity.incarnation && !t.reason)
        .map((t) => ({ terminalId: t.id, createdAt: new Date(t.createdAt).toISOString(), attached: t.conn !== null, attachedHere: conn !== undefined && t.conn === conn, cols: t.cols, rows: t.rows }));
    },

    /** TenantData.onStop: kills the stopped incarnation's terminals (a revoked token: those it opened). */
    stopTenant(stop: TenantStop): Promise<unknown> | null {
      const reason: CloseReason = stop.reason === "suspended" ? "tenant-suspended" : stop.reason === "deleted" ? "tenant-deleted" : stop.reason === "replaced" ? "tenant-replaced" : "token-revoked";
      const hit = [...terms.values()].filter((t) => t.tenantId === stop.tenantId && t.incarnation === stop.incarnation && (stop.reason !== "token-revoked" || (stop.tokens ?? []).includes(t.token)));
      for (const t of hit) end(t, reason);
      return hit.length ? Promise.all(hit.map((t) => t.done)) : null;
    },

    /** The gateway stops: every terminal ends (and is recorded as ended). */
    async stopAll(): Promise<void> {
      const all = [...terms.values()];
      for (const t of all) end(t, "gateway-stopping");
      await Promise.all(all.map((t) => t.done));
    },

    count: (tenantId?: string) => (tenantId === undefined ? terms.size : [...terms.values()].filter((t) => t.tenantId === tenantId).length),
  };
}

export type TerminalService = ReturnType<typeof createTerminalService>;
