// Agent runs: chat.send starts a turn and answers with its run id at once; the turn runs on in the
// gateway whether or not its client stays (chat.wait collects it, events stream it). One active run
// per session: a second chat.send on a busy session is refused with CONFLICT (naming the run), not
// queued — a client that wants a queue waits or aborts. A retried send with the same idempotency key
// gets the same run. A run ends when its tenant stops (suspend, delete, restore, its token revoked:
// TenantData.onStop) or its identity stops verifying, and a run a crash interrupted is marked
// aborted, with a transcript entry, when the gateway starts.
import fs from "node:fs";
import type { Database } from "bun:sqlite";
import type { GatewayConfig } from "../../config/schema.ts";
import type { Clock } from "../../core/clock.ts";
import { AppError, toAppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { OpContext } from "../../edge/actor.ts";
import type { TenantIdentity, TenantScope } from "../../edge/tenant-scope.ts";
import { commitDeferred, syncWal } from "../../db/deferred-sync.ts";
import { tenantDir } from "../../lib/tenant-dirs.ts";
import type { TenantStop } from "../module.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import type { TenantsService } from "../tenants/tenants.service.ts";
import { agentAllows, agentIds, effectiveAgent, systemPrompt, type EffectiveAgent } from "./agent-config.ts";
import { isRunStop, runLoop, stop, type LoopDeps, type RunEnd, type RunStop } from "./agent-loop.ts";
import { turnsOf } from "./context.ts";
import { checkSessionKey, type SessionsService } from "./sessions.service.ts";
import { appendLine, encodeEntry, transcriptPath } from "./transcript.ts";
import path from "node:path";

/** Runs a tenant may have going at once (over all its sessions). */
export const MAX_ACTIVE_RUNS_PER_TENANT = 16;
export const MAX_MESSAGE_BYTES = 256 * 1024;

interface ActiveRun {
  id: string;
  tenantId: string;
  incarnation: string;
  token?: string;
  sessionKey: string;
  controller: AbortController;
  done: Promise<RunEnd>;
}

export interface SendParams {
  sessionKey: string;
  agentId?: string;
  message: string;
  idempotencyKey?: string;
}

/**
 * What the run index keeps (red team 13, F2b: run rows grew without bound in the shared state.db):
 * the newest `agents.runsKeptPerTenant` finished runs per tenant (pruned every tenth of that, at
 * most every 50 finishes, so the rows stay within 110% of it), each run's answer cut at RUN_TEXT_MAX characters (the whole answer is
 * in the session's transcript). A session's runs go with the session (sessions.service delete/reset).
 */
export const RUN_TEXT_MAX = 65_536;
const RUN_TEXT_CUT = "\n[answer cut here: the whole answer is in the session's transcript]";

const RUN_COLS = "id AS runId, session_key AS sessionKey, session_id AS sessionId, agent_id AS agentId, status, stop_reason AS stopReason, error_code AS errorCode, error_message AS errorMessage, text, steps, input_tokens AS inputTokens, output_tokens AS outputTokens, cost_micro_usd AS costMicroUsd, started_at AS startedAt, ended_at AS endedAt";

const STOPPED: Record<TenantStop["reason"], string> = { suspended: "tenant-suspended", deleted: "tenant-deleted", replaced: "tenant-replaced", "token-revoked": "token-revoked" };

export function createRunsService(deps: {
  home: string;
  sqlite: Database;
  /** state.db's path (its WAL is synced off the event loop). */
  dbFile: string;
  clock: Clock;
  log: Logger;
  config: () => GatewayConfig;
  overlays: OverlaysService;
  tenants: TenantsService;
  sessions: SessionsService;
  /** The model an agent that names none uses: the tenant's default, else the first it may use. */
  defaultModel(tenant: TenantScope): string | null;
  loop: Omit<LoopDeps, "sessions">;
}) {
  const { sqlite, clock, sessions } = deps;
  const active = new Map<string, ActiveRun>(); // by tenant id + session key
  const byId = new Map<string, ActiveRun>(); // by tenant id + run id
  const k = (tenantId: string, x: string) => `${tenantId}\u0000${x}`;
  const q = {
    prune: sqlite.prepare(
      "DELETE FROM agent_runs WHERE tenant_id = ?1 AND status != 'running' AND id IN (SELECT id FROM agent_runs WHERE tenant_id = ?1 AND status != 'running' ORDER BY started_at DESC, id DESC LIMIT -1 OFFSET ?2)",
    ),
    insert: sqlite.prepare("INSERT INTO agent_runs (tenant_id, id, session_key, session_id, agent_id, idempotency_key, status, started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running', ?7)"),
    byIdem: sqlite.prepare(`SELECT ${RUN_COLS} FROM agent_runs WHERE tenant_id = ?1 AND session_key = ?2 AND idempotency_key = ?3`),
    get: sqlite.prepare(`SELECT ${RUN_COLS} FROM agent_runs WHERE tenant_id = ?1 AND id = ?2`),
    byKey: sqlite.prepare("SELECT id FROM agent_runs WHERE tenant_id = ?1 AND idempotency_key = ?2 ORDER BY started_at DESC, id DESC LIMIT 1"),
    latest: sqlite.prepare(`SELECT ${RUN_COLS} FROM agent_runs WHERE tenant_id = ?1 AND session_key = ?2 ORDER BY started_at DESC, id DESC LIMIT 1`),
    finish: sqlite.prepare("UPDATE agent_runs SET status = ?3, stop_reason = ?4, error_code = ?5, error_message = ?6, text = ?7, steps = ?8, input_tokens = ?9, output_tokens = ?10, cost_micro_usd = ?11, ended_at = ?12 WHERE tenant_id = ?1 AND id = ?2"),
    running: sqlite.prepare("SELECT tenant_id AS tenantId, id, session_key AS sessionKey, session_id AS sessionId FROM agent_runs WHERE status = 'running'"),
    runningOf: sqlite.prepare("SELECT tenant_id AS tenantId, id, session_key AS sessionKey, session_id AS sessionId FROM agent_runs WHERE status = 'running' AND tenant_id = ?1"),
    interrupted: sqlite.prepare("UPDATE agent_runs SET status = 'aborted', stop_reason = 'interrupted', error_code = 'INTERRUPTED', error_message = ?3, ended_at = ?4 WHERE tenant_id = ?1 AND id = ?2"),
  };
  const loopDeps: LoopDeps = { ...deps.loop, sessions };

  function agentFor(tenant: TenantScope, id: string): EffectiveAgent {
    const config = deps.config();
    const agent = effectiveAgent(config, deps.overlays.current(tenant), id);
    if (!agent) throw new AppError("NOT_FOUND", `agent "${id.slice(0, 64)}" not found`, { details: { param: "agentId" } });
    if (agent.model !== null) return agent;
    const model = deps.defaultModel(tenant);
    const windows = config.agents.contextWindow;
    return { ...agent, model, contextWindow: (model && windows.models && Object.hasOwn(windows.models, model) ? windows.models[model] : undefined) || windows.default };
  }

  const finishedSincePrune = new Map<string, number>();
  function finish(tenantId: string, runId: string, end: RunEnd): void {
    const text = end.text !== null && end.text.length > RUN_TEXT_MAX ? `${end.text.slice(0, RUN_TEXT_MAX)}${RUN_TEXT_CUT}` : end.text;
    q.finish.run(tenantId, runId, end.status, end.stopReason, end.error?.code ?? null, end.error?.message?.slice(0, 4096) ?? null, text, end.steps, end.usage.inputTokens, end.usage.outputTokens, end.usage.costMicroUsd, clock.now());
    // The run index is bounded per tenant: every PRUNE_EVERY finished runs, all but the newest
    // agents.runsKeptPerTenant finished ones go (their turns stay in the transcripts, which are capped and counted).
    const kept = deps.config().agents.runsKeptPerTenant;
    const n = (finishedSincePrune.get(tenantId) ?? 0) + 1;
    if (n < Math.max(1, Math.min(50, Math.floor(kept / 10)))) finishedSincePrune.set(tenantId, n);
    else {
      finishedSincePrune.delete(tenantId);
      q.prune.run(tenantId, kept);
    }
  }

  async function execute(identity: TenantScope & Partial<TenantIdentity>, run: ActiveRun, agent: EffectiveAgent, message: string, session: ReturnType<SessionsService["get"]>, fresh: boolean): Promise<RunEnd> {
    const tenant = identity;
    const watch = deps.tenants.watchWork({ tenantId: run.tenantId, incarnation: run.incarnation, token: run.token });
    const timer = setTimeout(() => run.controller.abort(stop("error", "max_seconds", "TIME_LIMIT", `the turn reached its limit of ${agent.limits.maxSeconds} seconds (limits.maxSeconds)`)), agent.limits.maxSeconds * 1000);
    const assertLive = () => {
      if (run.controller.signal.aborted && isRunStop(run.controller.signal.reason)) throw run.controller.signal.reason;
      const why = watch.check();
      if (why) run.controller.abort(stop("aborted", STOPPED[why], "TENANT_STOPPED", `the run ended: ${STOPPED[why].replace("-", " ")}`));
      else {
        try {
          identity.assertCurrent?.();
        } catch {
          run.controller.abort(stop("aborted", "identity-ended", "UNAUTHORIZED", "the run ended: the credentials that started it stopped working"));
        }
      }
      if (run.controller.signal.aborted) throw run.controller.signal.reason;
    };
    let end: RunEnd;
    const progress = { usage: { inputTokens: 0, outputTokens: 0, costMicroUsd: 0 }, steps: 0 };
    try {
      // A session this send created holds nothing but this turn: no transcript to read back.
      const history = fresh ? [] : turnsOf(sessions.entries(tenant, session.sessionId), run.id);
      const system = [systemPrompt(agent, tenant, tenantDir(deps.home, tenant.tenantId), deps.loop.services.files), ...(deps.loop.promptSections?.(tenant, (name) => agentAllows(agent, name)) ?? [])].filter((s) => s !== "").join("\n\n");
      const turn = () => runLoop(loopDeps, { id: run.id, tenant, session, agent, signal: run.controller.signal, deadline: clock.now() + agent.limits.maxSeconds * 1000, token: run.token, assertLive, progress }, { system, history, userMessage: message });
      end = loopDeps.telemetry ? await loopDeps.telemetry.inRun({ agentId: agent.id, runId: run.id }, turn) : await turn();
    } catch (err) {
      const s: RunStop = isRunStop(err) ? err : run.controller.signal.aborted && isRunStop(run.controller.signal.reason) ? run.controller.signal.reason : toStop(err);
      end = { status: s.status, stopReason: s.stopReason, text: null, error: { code: s.code, message: s.message }, usage: progress.usage, steps: progress.steps };
      try {
        sessions.append(tenant, session, { type: s.status === "aborted" ? "abort" : "error", ts: clock.now(), runId: run.id, reason: s.stopReason, code: s.code, message: s.message }, { closing: true });
      } catch (e) {
        deps.log.warn("could not write a run's closing entry", { tenant: tenant.tenantId, run: run.id, error: String(e) });
      }
      deps.loop.events.publish(tenant, { method: "chat.error", params: { runId: run.id, sessionKey: session.key, code: s.code, message: s.message }, sessionKey: session.key, runId: run.id });
    } finally {
      clearTimeout(timer);
      watch.end();
    }
    // The transcript reaches the disk in the background (a session deleted meanwhile has nothing to sync).
    sessions.sync(tenant, session.sessionId).catch((e) => deps.log.warn("could not fsync a transcript", { tenant: tenant.tenantId, error: String(e) }));
    // One commit for the run's end and its session's counters, with the transcript's durability: it
    // does not wait for the disk on the event loop (a process crash loses nothing), and the WAL is
    // synced in the background like the transcript. A power loss before that leaves the run recorded
    // as running: the next start marks it interrupted and recounts the session from its transcript.
    try {
      const { durable } = commitDeferred(
        { sqlite, file: deps.dbFile },
        sqlite.transaction(() => {
          sessions.flush(tenant, session.key);
          finish(tenant.tenantId, run.id, end);
        }),
      );
      durable.catch((e) => deps.log.warn("could not fsync a run's end", { tenant: tenant.tenantId, run: run.id, error: String(e) }));
    } catch (e) {
      // The database is closing (the gateway stops): the row stays `running` and the next start marks it interrupted.
      deps.log.warn("could not record a run's end", { tenant: tenant.tenantId, run: run.id, error: String(e) });
    }
    return end;
  }

  function toStop(err: unknown): RunStop {
    const e = toAppError(err);
    if (e.code === "INTERNAL") deps.log.error("an agent run failed", { error: String(err) });
    return stop("error", "error", e.code, e.message);
  }

  const view = (tenantId: string, runId: string) => q.get.get(tenantId, runId) as Record<string, unknown> | null;

  return {
    agentFor,
    agents(tenant: TenantScope): EffectiveAgent[] {
      const overlay = deps.overlays.current(tenant);
      return agentIds(overlay).map((id) => agentFor(tenant, id));
    },

    /**
     * Starts a turn and answers its run id once it is recorded (the turn goes on by itself). The
     * caller awaits `durable` (the session's creation and the run's row on disk) before it tells
     * anyone: the commit's sync runs off the event loop, alongside the turn.
     */
    send(identity: TenantScope & Partial<TenantIdentity>, p: SendParams, ctx: OpContext): { runId: string; sessionId: string; deduped: boolean; done: Promise<RunEnd> | null; durable: Promise<void> } {
      const tenant = identity;
      const key = checkSessionKey(p.sessionKey);
      if (Buffer.byteLength(p.message) > MAX_MESSAGE_BYTES) throw new AppError("PAYLOAD_TOO_LARGE", `message is longer than ${MAX_MESSAGE_BYTES} bytes`, { details: { param: "message" } });
      if (p.idempotencyKey !== undefined) {
        const prior = q.byIdem.get(tenant.tenantId, key, p.idempotencyKey) as { runId: string; sessionId: string } | null;
        if (prior) return { runId: prior.runId, sessionId: prior.sessionId, deduped: true, done: byId.get(k(tenant.tenantId, prior.runId))?.done ?? null, durable: syncWal(deps.dbFile) };
      }
      const busy = active.get(k(tenant.tenantId, key));
      if (busy) throw new AppError("CONFLICT", `session "${key}" has a run in progress (${busy.id}); wait for it (chat.wait) or abort it (chat.abort)`, { details: { runId: busy.id } });
      const mine = [...active.values()].filter((r) => r.tenantId === tenant.tenantId).length;
      if (mine >= MAX_ACTIVE_RUNS_PER_TENANT) throw new AppError("RATE_LIMITED", `the tenant has ${mine} runs in progress, the most it may have at once`);
      const existing = sessions.find(tenant, key);
      const agent = agentFor(tenant, p.agentId ?? existing?.agentId ?? "main");
      const incarnation = deps.tenants.incarnation(tenant.tenantId);
      if (incarnation === null) throw new AppError("NOT_FOUND", "tenant not found");
      const runId = `run_${Bun.randomUUIDv7().replaceAll("-", "")}`;
      const now = clock.now();
      if (existing) sessions.assertRoom(tenant, existing);
      // The run's row commits with the session's creation (one commit, one audit record).
      const { row: session, durable } = sessions.ensureDeferred(tenant, key, agent.id, ctx, (row) => {
        q.insert.run(tenant.tenantId, runId, key, row.sessionId, agent.id, p.idempotencyKey ?? null, now);
        sessions.runStarted(tenant, key, agent.id);
      });
      // Whoever acknowledges the run awaits this; it must never be an unhandled rejection meanwhile.
      durable.catch(() => {});
      try {
        // The client's idempotency key goes with its message: clients that name runs by it (upstream
        // OpenClaw's) find their turn in the history.
        sessions.append(tenant, session, { type: "user", ts: now, runId, content: p.message, agentId: agent.id, ...(p.idempotencyKey !== undefined ? { idempotencyKey: p.idempotencyKey } : {}) });
      } catch (err) {
        // The message did not fit (transcript cap, disk limit): the run ends before it starts.
        const e = toAppError(err);
        finish(tenant.tenantId, runId, { status: "error", stopReason: "error", text: null, error: { code: e.code, message: e.message }, usage: { inputTokens: 0, outputTokens: 0, costMicroUsd: 0 }, steps: 0 });
        throw err;
      }
      const token = identity.actor?.kind === "tenant" ? identity.actor.id : undefined;
      const run: ActiveRun = { id: runId, tenantId: tenant.tenantId, incarnation, token, sessionKey: key, controller: new AbortController(), done: null as never };
      active.set(k(tenant.tenantId, key), run);
      byId.set(k(tenant.tenantId, runId), run);
      run.done = execute(identity, run, agent, p.message, session, !existing).finally(() => {
        active.delete(k(tenant.tenantId, key));
        byId.delete(k(tenant.tenantId, runId));
      });
      return { runId, sessionId: session.sessionId, deduped: false, done: run.done, durable };
    },

    /** The run as recorded; waits up to `timeoutMs` for a running one to end. */
    async wait(tenant: TenantScope, p: { runId?: string; sessionKey?: string; timeoutMs?: number }) {
      let runId = p.runId;
      if (runId === undefined) {
        if (p.sessionKey === undefined) throw new AppError("INVALID_PARAMS", "give runId or sessionKey");
        sessions.get(tenant, p.sessionKey);
        const last = q.latest.get(tenant.tenantId, p.sessionKey) as { runId: string } | null;
        if (!last) return { runId: null, status: "idle" };
        runId = last.runId;
      }
      if (!view(tenant.tenantId, runId)) throw new AppError("NOT_FOUND", "run not found");
      const live = byId.get(k(tenant.tenantId, runId));
      if (live) {
        let timer: Timer | undefined;
        await Promise.race([live.done, new Promise((r) => (timer = setTimeout(r, Math.min(Math.max(p.timeoutMs ?? 30_000, 0), 300_000))))]);
        clearTimeout(timer);
      }
      return view(tenant.tenantId, runId)!;
    },

    abort(tenant: TenantScope, p: { runId?: string; sessionKey?: string }): { runId: string | null; aborted: boolean } {
      let run: ActiveRun | undefined;
      if (p.runId !== undefined) {
        if (!view(tenant.tenantId, p.runId)) throw new AppError("NOT_FOUND", "run not found");
        run = byId.get(k(tenant.tenantId, p.runId));
      } else if (p.sessionKey !== undefined) {
        sessions.get(tenant, p.sessionKey);
        run = active.get(k(tenant.tenantId, p.sessionKey));
      } else throw new AppError("INVALID_PARAMS", "give runId or sessionKey");
      if (!run) return { runId: p.runId ?? null, aborted: false };
      run.controller.abort(stop("aborted", "aborted", "ABORTED", "the run was aborted"));
      return { runId: run.id, aborted: true };
    },

    /** Aborts the session's run (a reset or delete) and waits for it to end. */
    async settleSession(tenant: TenantScope, key: string): Promise<void> {
      const run = active.get(k(tenant.tenantId, key));
      if (!run) return;
      run.controller.abort(stop("aborted", "aborted", "ABORTED", "the session was reset or deleted"));
      await run.done;
    },

    /** TenantData.onStop: ends the stopped incarnation's runs; settles once they have ended. */
    stopTenant(s: TenantStop): Promise<unknown> | null {
      const ending: Promise<unknown>[] = [];
      for (const run of active.values()) {
        if (run.tenantId !== s.tenantId || run.incarnation !== s.incarnation) continue;
        if (s.reason === "token-revoked" && !(run.token && s.tokens?.includes(run.token))) continue;
        run.controller.abort(stop("aborted", STOPPED[s.reason], "TENANT_STOPPED", `the run ended: ${STOPPED[s.reason].replace("-", " ")}`));
        ending.push(run.done);
      }
      return ending.length ? Promise.allSettled(ending) : null;
    },

    /** At start-up (and after a restore): runs recorded as running that no one is running were interrupted. */
    recover(tenantId?: string): number {
      const rows = (tenantId === undefined ? q.running.all() : q.runningOf.all(tenantId)) as { tenantId: string; id: string; sessionKey: string; sessionId: string }[];
      let n = 0;
      for (const r of rows) {
        if (byId.has(k(r.tenantId, r.id))) continue;
        const message = "the run was interrupted (the gateway stopped or the tenant was restored) before it finished";
        q.interrupted.run(r.tenantId, r.id, message, clock.now());
        n++;
        try {
          const file = transcriptPath(path.join(tenantDir(deps.home, r.tenantId), "sessions"), r.sessionId);
          if (fs.existsSync(file)) appendLine(file, encodeEntry({ type: "abort", ts: clock.now(), runId: r.id, reason: "interrupted", code: "INTERRUPTED", message }));
          // The session's counters were kept in memory by the process that died: count them again.
          sessions.recount(r.tenantId, r.sessionKey);
        } catch (err) {
          deps.log.warn("could not mark an interrupted run in its transcript", { tenant: r.tenantId, run: r.id, error: String(err) });
        }
      }
      if (n > 0) deps.log.warn("marked interrupted agent runs as aborted", { runs: n, ...(tenantId ? { tenant: tenantId } : {}) });
      return n;
    },

    /** The tenant's newest run started with this idempotency key (in any session), if the index keeps one. */
    runOfKey(tenant: TenantScope, idempotencyKey: string): string | null {
      return (q.byKey.get(tenant.tenantId, idempotencyKey) as { id: string } | null)?.id ?? null;
    },

    /** The session's run in progress, if any. */
    activeRun(tenant: TenantScope, key: string): string | null {
      return active.get(k(tenant.tenantId, key))?.id ?? null;
    },

    activeCount(tenantId?: string): number {
      return tenantId === undefined ? active.size : [...active.values()].filter((r) => r.tenantId === tenantId).length;
    },
  };
}

export type RunsService = ReturnType<typeof createRunsService>;
