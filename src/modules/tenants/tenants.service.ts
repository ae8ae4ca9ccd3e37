// Tenants: create, list, show, update, suspend, resume, delete, token rotation, quota limits. Every
// change runs through the audit log's transaction, so it is recorded durably or not made at all.
// Owns the tenant record, its token hashes and its quota limits; deleting a tenant also deletes the
// rows every other module declared as going with it (modules/module.ts: TenantData) and tells them.
import fs from "node:fs";
import { eq, sql } from "drizzle-orm";
import { AppError, notFound } from "../../core/errors.ts";
import { deleteTenantRows } from "../../db/tenant-rows.ts";
import type { OpContext } from "../../edge/actor.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import { formatDuration } from "../../lib/duration.ts";
import { checkTenantId, describeTenantIdProblem, newIncarnation } from "../../lib/ids.ts";
import { createTenantDirs, discardTree, moveToTrash, tenantDir } from "../../lib/tenant-dirs.ts";
import type { AuditLog } from "../audit/audit.service.ts";
import type { Platform } from "../module.ts";
import type { QuotaLimitsService } from "./quota-limits.service.ts";
import type { QuotaPatch } from "./quota.model.ts";
import { createIncarnationCache } from "./incarnations.ts";
import { createTenantLifecycle, type TenantState, type TenantStop } from "./tenant-lifecycle.ts";
import { tenantView, type TenantView } from "./tenants.model.ts";
import { TenantTable, type TenantRow } from "./tenants.sql.ts";
import type { IssuedToken, TokensService } from "./tokens.service.ts";

export interface TenantsDeps {
  platform: Platform;
  audit: AuditLog;
  tokens: TokensService;
  limits: QuotaLimitsService;
}

export function createTenantsService(deps: TenantsDeps) {
  const { audit, tokens, limits } = deps;
  const { clock, home, log, tenantData } = deps.platform;
  const { db, sqlite } = deps.platform.handle;

  // Prepared once: drizzle builds SQL per call otherwise, which costs more than the query itself.
  const byId = db.select().from(TenantTable).where(eq(TenantTable.id, sql.placeholder("id"))).prepare();

  function row(id: string): TenantRow | undefined {
    return byId.get({ id });
  }

  const incarnations = createIncarnationCache({ row, changes: deps.platform.changes });

  // Suspend, delete, a restore over the tenant and a token's end stop everything the tenant runs:
  // modules register their listeners at core wiring (see tenant-lifecycle.ts).
  // What the watches of live work poll (4 times a second, per watched tenant): cached until any
  // process commits a change — a suspension, delete or restore is audited, so it bumps the tracker —
  // so an idle poll costs no query and no lstat (100 watched tenants took ~5 ms of every poll).
  const stateCache = new Map<string, TenantState | null>();
  let stateSeen = "";
  const lifecycle = createTenantLifecycle({
    state: (id) => {
      const version = deps.platform.changes.version();
      if (version !== stateSeen || stateCache.size >= 50_000) {
        stateCache.clear();
        stateSeen = version;
      }
      let s = stateCache.get(id);
      if (s === undefined) {
        const r = row(id);
        s = r ? { status: r.status, incarnation: r.incarnation, dirIno: fs.lstatSync(tenantDir(home, id), { throwIfNoEntry: false })?.ino ?? 0 } : null;
        stateCache.set(id, s);
      }
      return s;
    },
    tokenLive: tokens.isLive,
    log,
  });
  // The modules' own hooks first (TenantData.onStop: the sandbox's runs, …).
  lifecycle.onTenantStopped((stop) => tenantData.stopped(stop));

  function mustRow(id: string): TenantRow {
    const r = row(id);
    if (!r) throw notFound(`tenant "${id}"`);
    return r;
  }

  const view = (r: TenantRow): TenantView => tenantView(r, tokens.describe(r.id), limits.view(r.id));

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
    incarnation: incarnations.of,

    get(tenant: TenantScope): TenantView {
      return view(mustRow(tenant.tenantId));
    },

    count(): number {
      return db.select({ n: sql<number>`count(*)` }).from(TenantTable).get()?.n ?? 0;
    },

    list(): TenantView[] {
      return db.select().from(TenantTable).orderBy(TenantTable.id).all().map(view);
    },

    /** Registers what ends a tenant's running work when it stops, besides the modules' TenantData.onStop (tests). */
    onTenantStopped: lifecycle.onTenantStopped,

    /** Announces a stop this service did not make itself (a restore replacing the tenant). */
    tenantStopped: (stop: TenantStop) => lifecycle.stopped(stop),

    /** Watches live work for stops made by another process (the CLI); `check()` says if it must end now. */
    watchWork: lifecycle.watch,

    dir(tenant: TenantScope): string {
      mustRow(tenant.tenantId);
      return tenantDir(home, tenant.tenantId);
    },

    /** Creates the tenant, its first token, its quota limits and its directories (every module's, see TenantData.dirs). */
    create(input: { id: string; displayName?: string | null; quota?: QuotaPatch }, ctx: OpContext) {
      validateId(input.id);
      // The incarnation is in the audit record, so the log ties each tenant of a reused id to its rows.
      const incarnation = newIncarnation();
      const details = { displayName: input.displayName ?? null, quota: input.quota ?? null, incarnation };
      const { result } = audit.transact((issued: IssuedToken) => entry(ctx, "tenant.create", input.id, { ...details, token: issued.actorId }), (onRollback) => {
        if (row(input.id)) throw new AppError("CONFLICT", `tenant "${input.id}" already exists`);
        const now = clock.now();
        db.insert(TenantTable).values({ id: input.id, incarnation, displayName: input.displayName ?? null, status: "active", createdAt: now, updatedAt: now }).run();
        if (input.quota) limits.set(input.id, input.quota);
        const issued = tokens.issue(input.id);
        try {
          createTenantDirs(home, input.id, tenantData.dirs);
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

    update(tenant: TenantScope, patch: { displayName?: string | null }, ctx: OpContext): TenantView {
      const id = tenant.tenantId;
      audit.transact(entry(ctx, "tenant.update", id, { displayName: patch.displayName ?? null }), () => {
        mustRow(id);
        db.update(TenantTable).set({ displayName: patch.displayName ?? null, updatedAt: clock.now() }).where(eq(TenantTable.id, id)).run();
      });
      return view(mustRow(id));
    },

    suspend: (tenant: TenantScope, ctx: OpContext) => setStatus(tenant.tenantId, "suspended", ctx),
    resume: (tenant: TenantScope, ctx: OpContext) => setStatus(tenant.tenantId, "active", ctx),

    /**
     * Deletes the record, its token hashes and quota limits, the rows every module declared as going
     * with the tenant, and wipes tenants/<id>. The audit log keeps its records; usage, sandbox runs and
     * backup records stay for the operator, keyed to this incarnation, so a later tenant of the same id
     * never sees them. Then every module forgets what it keeps in memory (TenantData.onDelete) and ends
     * what it runs for the tenant (TenantData.onStop) before its directory is wiped. What deleting a
     * tenant does is declared by the modules, and done here, in one place.
     */
    remove(tenant: TenantScope, ctx: OpContext): { tenantId: string; deleted: true } {
      const id = tenant.tenantId;
      let trashed: string | null = null;
      let incarnation = "";
      audit.transact(entry(ctx, "tenant.delete", id, { incarnation: row(id)?.incarnation ?? null }), (onRollback) => {
        incarnation = mustRow(id).incarnation;
        deleteTenantRows(sqlite, tenantData.tables, id);
        db.delete(TenantTable).where(eq(TenantTable.id, id)).run();
        trashed = moveToTrash(home, id);
        if (trashed) {
          const from = trashed;
          onRollback(() => fs.renameSync(from, tenantDir(home, id)));
        }
      });
      incarnations.forget(id);
      tenantData.deleted(tenant);
      // Its runs are killed first; the directory goes once they have ended, so none writes into it
      // after it is gone from the tenant's measurements.
      const ended = lifecycle.stopped({ tenantId: id, incarnation, reason: "deleted" });
      // Removed in the background, in time slices: its tree may be any size or depth (a sandbox shaped
      // it), and the gateway keeps serving meanwhile (lib/tree-remove.ts).
      const wipe = (dir: string) => void discardTree(dir, (err) => log.warn("tenant deleted, but its trashed directory could not be removed yet (the next start tries again)", { tenant: id, error: String(err) }));
      if (trashed) {
        const dir: string = trashed;
        if (ended) void ended.then(() => wipe(dir));
        else wipe(dir);
      }
      return { tenantId: id, deleted: true };
    },

    /**
     * Inside a restore's audited transaction: takes the existing tenant of `id` out of the way (its
     * record and every row that goes with it; its directory to the trash, back if the restore fails),
     * so the archive's tenant can take its place. The restore tells the modules afterwards (and ends the
     * replaced incarnation's work: tenantStopped). Returns that incarnation.
     */
    replaceWithin(id: string, onRollback: (undo: () => void) => void): string {
      const incarnation = mustRow(id).incarnation;
      deleteTenantRows(sqlite, tenantData.tables, id);
      db.delete(TenantTable).where(eq(TenantTable.id, id)).run();
      const trashed = moveToTrash(home, id);
      if (trashed) onRollback(() => fs.renameSync(trashed, tenantDir(home, id)));
      return incarnation;
    },

    /**
     * Inside a restore's transaction, once the rows are in: a copy under another id gets a token of its
     * own; a tenant restored as itself keeps its old token hashes, and gets a token only if it has none.
     */
    tokenAfterRestore(id: string, copy: boolean): IssuedToken | null {
      return copy || tokens.count(id) === 0 ? tokens.issue(id) : null;
    },

    rotateToken(tenant: TenantScope, graceMs: number, ctx: OpContext) {
      const id = tenant.tenantId;
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

    setQuota(tenant: TenantScope, patch: QuotaPatch, ctx: OpContext) {
      const id = tenant.tenantId;
      audit.transact(entry(ctx, "tenant.quota.set", id, { quota: patch }), () => {
        mustRow(id);
        limits.set(id, patch);
      });
      return limits.view(id);
    },

    /** The tenant's quota limits, where each comes from, and when the daily counters reset. */
    quotaLimits(tenant: TenantScope) {
      mustRow(tenant.tenantId);
      return limits.status(tenant.tenantId);
    },
  };
}

export type TenantsService = ReturnType<typeof createTenantsService>;
