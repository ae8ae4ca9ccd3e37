// Tenants: create, list, show, update, suspend, resume, delete, token rotation. Every change runs
// through the audit log's transaction, so it is recorded durably or not made at all.
import fs from "node:fs";
import { eq, sql } from "drizzle-orm";
import type { Db } from "../../db/client.ts";
import type { Clock } from "../../core/clock.ts";
import { AppError, notFound } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { ChangeTracker } from "../../db/change-tracker.ts";
import { checkTenantId, describeTenantIdProblem, newIncarnation } from "../../lib/ids.ts";
import { formatDuration } from "../../lib/duration.ts";
import type { AuditLog } from "../audit/audit.service.ts";
import type { Actor } from "../audit/audit.record.ts";
import type { QuotasService } from "../quotas/quotas.service.ts";
import type { QuotaPatch } from "../quotas/quotas.model.ts";
import type { IssuedToken, TokensService } from "../tokens/tokens.service.ts";
import { createTenantDirs, moveToTrash, tenantDir } from "./tenant-dirs.ts";
import { createTenantLifecycle, type TenantStop } from "./tenant-lifecycle.ts";
import { TenantTable, type TenantRow } from "./tenants.sql.ts";
import type { TenantView } from "./tenants.model.ts";

/** Who is acting, for the audit record. */
export interface OpContext {
  actor: Actor;
  requestId: string;
  /** A client's own x-request-id (HTTP callers), recorded beside ours. */
  clientRequestId?: string;
  ip?: string;
}

export interface TenantsDeps {
  db: Db;
  home: string;
  clock: Clock;
  log: Logger;
  audit: AuditLog;
  tokens: TokensService;
  quotas: QuotasService;
  changes: ChangeTracker;
  /** Told after a tenant is deleted (in-memory state of other modules: the quota engine's account). */
  onRemoved?: (tenantId: string) => void;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function createTenantsService(deps: TenantsDeps) {
  const { db, audit, tokens, quotas, clock, home } = deps;

  // Prepared once: drizzle builds SQL per call otherwise, which costs more than the query itself.
  const byId = db.select().from(TenantTable).where(eq(TenantTable.id, sql.placeholder("id"))).prepare();

  function row(id: string): TenantRow | undefined {
    return byId.get({ id });
  }

  // The incarnation is asked for on every routed request (ledger rows and quota accounts are keyed
  // by it): cached until any process commits a change, like token digests.
  const incarnations = new Map<string, string | null>();
  let seen = "";
  function incarnationOf(id: string): string | null {
    const version = deps.changes.version();
    if (version !== seen || incarnations.size >= 50_000) {
      incarnations.clear();
      seen = version;
    }
    let inc = incarnations.get(id);
    if (inc === undefined) {
      inc = row(id)?.incarnation ?? null;
      incarnations.set(id, inc);
    }
    return inc;
  }

  // Suspend, delete, a restore over the tenant and a token's end stop everything the tenant runs:
  // modules register their listeners at core wiring (see tenant-lifecycle.ts).
  const lifecycle = createTenantLifecycle({
    state: (id) => {
      const r = row(id);
      return r ? { status: r.status, incarnation: r.incarnation, dirIno: fs.lstatSync(tenantDir(home, id), { throwIfNoEntry: false })?.ino ?? 0 } : null;
    },
    tokenLive: tokens.isLive,
    log: deps.log,
  });

  function mustRow(id: string): TenantRow {
    const r = row(id);
    if (!r) throw notFound(`tenant "${id}"`);
    return r;
  }

  function view(r: TenantRow): TenantView {
    const tok = tokens.describe(r.id);
    return {
      tenantId: r.id,
      incarnation: r.incarnation,
      displayName: r.displayName,
      status: r.status,
      createdAt: iso(r.createdAt)!,
      updatedAt: iso(r.updatedAt)!,
      suspendedAt: iso(r.suspendedAt),
      token: {
        prefix: tok.current?.displayPrefix ?? null,
        createdAt: iso(tok.current?.createdAt ?? null),
        inGrace: tok.inGrace.map((g) => ({ prefix: g.displayPrefix, expiresAt: iso(g.expiresAt)! })),
      },
      quota: quotas.view(r.id),
    };
  }

  const entry = (ctx: OpContext, action: string, id: string, details?: Record<string, unknown>) => ({
    actor: ctx.actor,
    action,
    target: { type: "tenant", id },
    tenant: id,
    requestId: ctx.requestId,
    clientRequestId: ctx.clientRequestId,
    src: { ip: ctx.ip },
    details,
  });

  function validateId(id: string): void {
    const problem = checkTenantId(id);
    if (problem) throw new AppError("INVALID_PARAMS", describeTenantIdProblem(id, problem), { details: { field: "id", problem } });
  }

  function setStatus(id: string, status: "active" | "suspended", ctx: OpContext): TenantView {
    const action = status === "suspended" ? "tenant.suspend" : "tenant.resume";
    let incarnation = "";
    audit.transact(entry(ctx, action, id), () => {
      const r = mustRow(id);
      incarnation = r.incarnation;
      if (r.status === status) throw new AppError("CONFLICT", `tenant "${id}" is already ${status}`);
      const now = clock.now();
      db.update(TenantTable)
        .set({ status, updatedAt: now, suspendedAt: status === "suspended" ? now : null })
        .where(eq(TenantTable.id, id))
        .run();
    });
    if (status === "suspended") lifecycle.stopped({ tenantId: id, incarnation, reason: "suspended" });
    return view(mustRow(id));
  }

  return {
    exists(id: string): boolean {
      return row(id) !== undefined;
    },

    isActive(id: string): boolean {
      return row(id)?.status === "active";
    },

    /**
     * The current incarnation of a tenant id, or null if no tenant has it. Rows written for a tenant
     * carry it, and every tenant-scoped read filters by it: a new tenant that reuses a deleted
     * tenant's id starts with nothing of the previous owner's.
     */
    incarnation: incarnationOf,

    get(id: string): TenantView {
      return view(mustRow(id));
    },

    count(): number {
      return db.select({ n: sql<number>`count(*)` }).from(TenantTable).get()?.n ?? 0;
    },

    list(): TenantView[] {
      return db.select().from(TenantTable).orderBy(TenantTable.id).all().map(view);
    },

    /** Registers what ends a tenant's running work when it stops (suspend, delete, restore over it, a token's end). */
    onTenantStopped: lifecycle.onTenantStopped,

    /** Announces a stop this service did not make itself (a restore replacing the tenant). */
    tenantStopped: (stop: TenantStop) => lifecycle.stopped(stop),

    /** Watches live work for stops made by another process (the CLI); `check()` says if it must end now. */
    watchWork: lifecycle.watch,

    dir(id: string): string {
      mustRow(id);
      return tenantDir(home, id);
    },

    create(input: { id: string; displayName?: string | null; quota?: QuotaPatch }, ctx: OpContext) {
      validateId(input.id);
      // The incarnation is in the audit record, so the log ties each tenant of a reused id to its rows.
      const incarnation = newIncarnation();
      const details = { displayName: input.displayName ?? null, quota: input.quota ?? null, incarnation };
      const { result } = audit.transact((issued: IssuedToken) => entry(ctx, "tenant.create", input.id, { ...details, token: issued.actorId }), (onRollback) => {
        if (row(input.id)) throw new AppError("CONFLICT", `tenant "${input.id}" already exists`);
        const now = clock.now();
        db.insert(TenantTable).values({ id: input.id, incarnation, displayName: input.displayName ?? null, status: "active", createdAt: now, updatedAt: now }).run();
        if (input.quota) quotas.set(input.id, input.quota);
        const issued = tokens.issue(input.id);
        try {
          createTenantDirs(home, input.id);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "EEXIST") {
            throw new AppError("CONFLICT", `directory tenants/${input.id} already exists without a tenant record; move it away or restore it from a backup`);
          }
          throw err;
        }
        onRollback(() => fs.rmSync(tenantDir(home, input.id), { recursive: true, force: true }));
        return issued;
      });
      const tenant = view(mustRow(input.id));
      return { tenantId: input.id, token: result.token, tokenPrefix: result.displayPrefix, createdAt: tenant.createdAt, tenant };
    },

    update(id: string, patch: { displayName?: string | null }, ctx: OpContext): TenantView {
      audit.transact(entry(ctx, "tenant.update", id, { displayName: patch.displayName ?? null }), () => {
        mustRow(id);
        db.update(TenantTable).set({ displayName: patch.displayName ?? null, updatedAt: clock.now() }).where(eq(TenantTable.id, id)).run();
      });
      return view(mustRow(id));
    },

    suspend: (id: string, ctx: OpContext) => setStatus(id, "suspended", ctx),
    resume: (id: string, ctx: OpContext) => setStatus(id, "active", ctx),

    /**
     * Deletes the record, its token hashes and quotas, and wipes tenants/<id>. The audit log keeps its
     * records; usage, sandbox runs and backup records stay for the operator, keyed to this incarnation,
     * so a later tenant of the same id never sees them. Every module's forgetting of a deleted tenant
     * happens here (or through onRemoved), in one place; its running work is ended through the
     * onTenantStopped listeners before its directory is wiped.
     */
    remove(id: string, ctx: OpContext): { tenantId: string; deleted: true } {
      let trashed: string | null = null;
      let incarnation = "";
      audit.transact(entry(ctx, "tenant.delete", id, { incarnation: row(id)?.incarnation ?? null }), (onRollback) => {
        incarnation = mustRow(id).incarnation;
        tokens.revokeAll(id);
        db.delete(TenantTable).where(eq(TenantTable.id, id)).run();
        trashed = moveToTrash(home, id);
        if (trashed) {
          const from = trashed;
          onRollback(() => fs.renameSync(from, tenantDir(home, id)));
        }
      });
      incarnations.delete(id);
      deps.onRemoved?.(id);
      // Its runs are killed first; the directory goes once they have ended, so none writes into it
      // after it is gone from the tenant's measurements.
      const ended = lifecycle.stopped({ tenantId: id, incarnation, reason: "deleted" });
      const wipe = (dir: string) => {
        try {
          fs.rmSync(dir, { recursive: true, force: true });
        } catch (err) {
          deps.log.warn("tenant deleted, but its trashed directory could not be removed yet", { tenant: id, error: String(err) });
        }
      };
      if (trashed) {
        const dir: string = trashed;
        if (ended) void ended.then(() => wipe(dir));
        else wipe(dir);
      }
      return { tenantId: id, deleted: true };
    },

    rotateToken(id: string, graceMs: number, ctx: OpContext) {
      if (!Number.isFinite(graceMs) || graceMs < 0 || graceMs > 30 * 86_400_000) {
        throw new AppError("INVALID_PARAMS", "grace must be between 0 and 30 days");
      }
      const { result } = audit.transact(
        (r: IssuedToken & { previous: string[]; ended: string[] }) => entry(ctx, "tenant.token.rotate", id, { grace: formatDuration(graceMs), previous: r.previous, ended: r.ended, next: r.actorId }),
        () => {
          mustRow(id);
          return tokens.rotate(id, graceMs);
        },
      );
      // Work started with a token that stops working now (no grace, or one already in grace) ends with it.
      if (result.ended.length > 0) lifecycle.stopped({ tenantId: id, incarnation: mustRow(id).incarnation, reason: "token-revoked", tokens: result.ended });
      return {
        tenantId: id,
        token: result.token,
        tokenPrefix: result.displayPrefix,
        graceUntil: graceMs > 0 ? new Date(clock.now() + graceMs).toISOString() : null,
      };
    },

    setQuota(id: string, patch: QuotaPatch, ctx: OpContext) {
      audit.transact(entry(ctx, "tenant.quota.set", id, { quota: patch }), () => {
        mustRow(id);
        quotas.set(id, patch);
      });
      return quotas.view(id);
    },
  };
}

export type TenantsService = ReturnType<typeof createTenantsService>;
