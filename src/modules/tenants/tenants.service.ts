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
import { createTenantDirs, moveToTrash, tenantDir } from "../../lib/tenant-dirs.ts";
import type { AuditLog } from "../audit/audit.service.ts";
import type { Platform } from "../module.ts";
import type { QuotaLimitsService } from "./quota-limits.service.ts";
import type { QuotaPatch } from "./quota.model.ts";
import type { TenantView } from "./tenants.model.ts";
import { TenantTable, type TenantRow } from "./tenants.sql.ts";
import type { IssuedToken, TokensService } from "./tokens.service.ts";

export interface TenantsDeps {
  platform: Platform;
  audit: AuditLog;
  tokens: TokensService;
  limits: QuotaLimitsService;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function createTenantsService(deps: TenantsDeps) {
  const { audit, tokens, limits } = deps;
  const { clock, home, log, tenantData } = deps.platform;
  const { db, sqlite } = deps.platform.handle;

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
    const version = deps.platform.changes.version();
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
      quota: limits.view(r.id),
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
    audit.transact(entry(ctx, action, id), () => {
      const r = mustRow(id);
      if (r.status === status) throw new AppError("CONFLICT", `tenant "${id}" is already ${status}`);
      const now = clock.now();
      db.update(TenantTable)
        .set({ status, updatedAt: now, suspendedAt: status === "suspended" ? now : null })
        .where(eq(TenantTable.id, id))
        .run();
    });
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

    get(tenant: TenantScope): TenantView {
      return view(mustRow(tenant.tenantId));
    },

    count(): number {
      return db.select({ n: sql<number>`count(*)` }).from(TenantTable).get()?.n ?? 0;
    },

    list(): TenantView[] {
      return db.select().from(TenantTable).orderBy(TenantTable.id).all().map(view);
    },

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
     * never sees them. Then every module forgets what it keeps in memory (TenantData.onDelete). What
     * deleting a tenant does is declared by the modules, and done here, in one place.
     */
    remove(tenant: TenantScope, ctx: OpContext): { tenantId: string; deleted: true } {
      const id = tenant.tenantId;
      let trashed: string | null = null;
      audit.transact(entry(ctx, "tenant.delete", id, { incarnation: row(id)?.incarnation ?? null }), (onRollback) => {
        mustRow(id);
        deleteTenantRows(sqlite, tenantData.tables, id);
        db.delete(TenantTable).where(eq(TenantTable.id, id)).run();
        trashed = moveToTrash(home, id);
        if (trashed) {
          const from = trashed;
          onRollback(() => fs.renameSync(from, tenantDir(home, id)));
        }
      });
      incarnations.delete(id);
      tenantData.deleted(tenant);
      if (trashed) {
        try {
          fs.rmSync(trashed, { recursive: true, force: true });
        } catch (err) {
          log.warn("tenant deleted, but its trashed directory could not be removed yet", { tenant: id, error: String(err) });
        }
      }
      return { tenantId: id, deleted: true };
    },

    /**
     * Inside a restore's audited transaction: takes the existing tenant of `id` out of the way (its
     * record and every row that goes with it; its directory to the trash, back if the restore fails),
     * so the archive's tenant can take its place. The restore tells the modules afterwards.
     */
    replaceWithin(id: string, onRollback: (undo: () => void) => void): void {
      deleteTenantRows(sqlite, tenantData.tables, id);
      db.delete(TenantTable).where(eq(TenantTable.id, id)).run();
      const trashed = moveToTrash(home, id);
      if (trashed) onRollback(() => fs.renameSync(trashed, tenantDir(home, id)));
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
