// The sandbox runs in progress, so a tenant's stop (suspend, delete, a restore over it, the end of the
// token that started a run) can end them: each run's abort signal kills its processes (cgroup kill,
// `docker kill`), its egress proxy is closed at once, and the result says why (`killedReason`).
// The sandbox module's TenantData.onStop (sandbox.module.ts) is `stop`.
import { AppError } from "../../core/errors.ts";
import type { TenantStop, TenantStopReason, WorkOf, WorkWatch } from "../tenants/tenant-lifecycle.ts";
import type { KilledReason } from "./sandbox.types.ts";

const KILLED: Record<TenantStopReason, KilledReason> = {
  suspended: "tenant-suspended",
  deleted: "tenant-deleted",
  replaced: "tenant-replaced",
  "token-revoked": "token-revoked",
};

interface LiveRun {
  work: WorkOf;
  abort: AbortController;
  reason: KilledReason | null;
  closeProxy: (() => Promise<void>) | null;
  done: Promise<void>;
  finish(): void;
}

export interface LiveRunHandle {
  /** Aborted when the tenant stops. */
  readonly signal: AbortSignal;
  /** Why the tenant's stop ended the run, once it has. */
  readonly reason: KilledReason | null;
  /** The run's egress proxy, closed as soon as the tenant stops. */
  attachProxy(close: () => Promise<void>): void;
  /** Throws when the run must not start (or go on starting): the tenant stopped meanwhile. */
  assertLive(): void;
  end(): void;
}

/** The error for a run stopped before its command started. */
export function stoppedError(tenantId: string, reason: KilledReason): AppError {
  switch (reason) {
    case "tenant-suspended":
      return new AppError("FORBIDDEN", `tenant "${tenantId}" is suspended`);
    case "token-revoked":
      return new AppError("UNAUTHORIZED", "the token that started this run was revoked");
    case "tenant-replaced":
      return new AppError("CONFLICT", `tenant "${tenantId}" was replaced by a restore while the run was starting; the command was not run`);
    default:
      return new AppError("NOT_FOUND", `tenant "${tenantId}" not found`);
  }
}

export function createLiveRuns(deps: { watch(work: WorkOf): WorkWatch }) {
  const runs = new Set<LiveRun>();

  function kill(run: LiveRun, reason: KilledReason): void {
    if (run.reason) return;
    run.reason = reason;
    run.abort.abort(reason);
    void run.closeProxy?.();
  }

  return {
    /** Registers a run of the tenant (before anything is prepared for it); `end()` when it is over. */
    begin(work: WorkOf): LiveRunHandle {
      let finish!: () => void;
      const done = new Promise<void>((resolve) => (finish = resolve));
      const run: LiveRun = { work, abort: new AbortController(), reason: null, closeProxy: null, done, finish };
      runs.add(run);
      const watch = deps.watch(work);
      return {
        signal: run.abort.signal,
        get reason() {
          return run.reason;
        },
        attachProxy(close) {
          let closing: Promise<void> | null = null;
          run.closeProxy = () => (closing ??= close());
          if (run.reason) void run.closeProxy();
        },
        assertLive() {
          const why = watch.check();
          if (why) kill(run, KILLED[why]);
          if (run.reason) throw stoppedError(work.tenantId, run.reason);
        },
        end() {
          if (!runs.delete(run)) return;
          watch.end();
          run.finish();
        },
      };
    },

    /** The onTenantStopped listener: kills the stopped tenant's runs; settles when they have ended. */
    stop(stop: TenantStop): Promise<void> | null {
      const ending: Promise<void>[] = [];
      for (const run of runs) {
        const w = run.work;
        if (w.tenantId !== stop.tenantId || w.incarnation !== stop.incarnation) continue;
        if (stop.reason === "token-revoked" && !(w.token && stop.tokens?.includes(w.token))) continue;
        kill(run, KILLED[stop.reason]);
        ending.push(run.done);
      }
      return ending.length ? Promise.all(ending).then(() => undefined) : null;
    },

    count(tenantId?: string): number {
      return tenantId === undefined ? runs.size : [...runs].filter((r) => r.work.tenantId === tenantId).length;
    },
  };
}

export type LiveRuns = ReturnType<typeof createLiveRuns>;
