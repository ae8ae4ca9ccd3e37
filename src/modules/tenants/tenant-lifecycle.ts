// Ending a tenant's running work when the tenant stops. Whenever a tenant is suspended, deleted or
// replaced by a restore, or a token of its stops working, every module's TenantData.onStop hears of it
// (and every listener registered with `onTenantStopped`) and ends what it runs for that tenant: the
// sandbox kills the runs and closes their egress; later features (agent runs, cron, channels,
// terminals) declare the same hook in their module.
//
// The tenants service (and a restore) announce the changes this process makes. Changes made by
// another process (the CLI on the same home) are noticed by polling: work that is live registers a
// watch, and while any watch exists the tenant rows behind them are looked at every POLL_MS.
import type { Logger } from "../../core/logger.ts";
import type { TenantStop, TenantStopReason } from "../module.ts";

export type { TenantStop, TenantStopReason };

/** Ends the tenant's work; a returned promise settles once that work has really ended. */
export type TenantStopListener = (stop: TenantStop) => void | null | Promise<unknown>;

/** Live work of one tenant incarnation, and the token that started it (if a tenant's token did). */
export interface WorkOf {
  tenantId: string;
  incarnation: string;
  token?: string;
}

export interface TenantState {
  status: string;
  incarnation: string;
  /** The tenant directory's inode: a restore over the tenant renames another directory into place. */
  dirIno: number;
}

export interface WorkWatch {
  /** Why the work must end now (checked against the tenant's state on disk), or null. */
  check(): TenantStopReason | null;
  end(): void;
}

export const POLL_MS = 250;

export function createTenantLifecycle(deps: { state(tenantId: string): TenantState | null; tokenLive(tenantId: string, token: string): boolean; log: Logger; pollMs?: number }) {
  const listeners = new Set<TenantStopListener>();
  const watches = new Set<{ work: WorkOf; dirIno: number; fired: boolean }>();
  let timer: ReturnType<typeof setInterval> | null = null;

  function reasonFor(work: WorkOf, dirIno: number): TenantStopReason | null {
    const s = deps.state(work.tenantId);
    if (!s || s.incarnation !== work.incarnation) return "deleted";
    if (s.dirIno !== dirIno) return "replaced";
    if (s.status !== "active") return "suspended";
    if (work.token && !deps.tokenLive(work.tenantId, work.token)) return "token-revoked";
    return null;
  }

  const concerns = (stop: TenantStop, work: WorkOf) =>
    work.tenantId === stop.tenantId && work.incarnation === stop.incarnation && (stop.reason !== "token-revoked" || (!!work.token && !!stop.tokens?.includes(work.token)));

  function stopped(stop: TenantStop): Promise<void> | null {
    for (const w of watches) if (concerns(stop, w.work)) w.fired = true;
    const pending: Promise<unknown>[] = [];
    for (const listener of listeners) {
      try {
        const r = listener(stop);
        if (r) pending.push(r);
      } catch (err) {
        deps.log.error("a listener failed to end a stopped tenant's work", { tenant: stop.tenantId, reason: stop.reason, error: String(err) });
      }
    }
    if (pending.length === 0) return null;
    return Promise.allSettled(pending).then(() => undefined);
  }

  /** Changes made by another process: each watched piece of work whose tenant changed is stopped once. */
  function poll(): void {
    const due = new Map<string, TenantStop>();
    for (const w of watches) {
      if (w.fired) continue;
      let reason: TenantStopReason | null;
      try {
        reason = reasonFor(w.work, w.dirIno);
      } catch (err) {
        deps.log.warn("could not check a tenant's state for its live work", { tenant: w.work.tenantId, error: String(err) });
        continue;
      }
      if (!reason) continue;
      const key = `${w.work.tenantId}\0${w.work.incarnation}\0${reason}`;
      const stop = due.get(key) ?? { tenantId: w.work.tenantId, incarnation: w.work.incarnation, reason, ...(reason === "token-revoked" ? { tokens: [] as string[] } : {}) };
      if (reason === "token-revoked" && w.work.token && !stop.tokens!.includes(w.work.token)) stop.tokens!.push(w.work.token);
      due.set(key, stop);
    }
    for (const stop of due.values()) {
      deps.log.info("tenant changed by another process; ending its running work", { tenant: stop.tenantId, reason: stop.reason });
      void stopped(stop);
    }
  }

  return {
    /** Registers a listener (at core wiring); returns its removal. */
    onTenantStopped(listener: TenantStopListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /** Tells every listener; resolves when the work they ended has ended, or null when none had any. */
    stopped,

    /** Watches live work for changes made elsewhere, until `end()`. */
    watch(work: WorkOf): WorkWatch {
      const entry = { work, dirIno: deps.state(work.tenantId)?.dirIno ?? 0, fired: false };
      watches.add(entry);
      if (!timer) {
        timer = setInterval(poll, deps.pollMs ?? POLL_MS);
        timer.unref();
      }
      return {
        check: () => reasonFor(work, entry.dirIno),
        end: () => {
          watches.delete(entry);
          if (watches.size === 0 && timer) {
            clearInterval(timer);
            timer = null;
          }
        },
      };
    },
  };
}

export type TenantLifecycle = ReturnType<typeof createTenantLifecycle>;
