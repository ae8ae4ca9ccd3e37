// Tenant backups: a backup streams the tenant's directory and rows (the tables every module declares:
// modules/module.ts, TenantData) into an archive at an S3 location or a file, and records it in
// state.db and the audit log. Restores are restore.ts; the records (list, delete, prune) are here.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { and, desc, eq, ne, sql } from "drizzle-orm";
import { AppError } from "../../core/errors.ts";
import { backedUp } from "../../db/tenant-rows.ts";
import type { OpContext } from "../../edge/actor.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import { checkTenantId, describeTenantIdProblem } from "../../lib/ids.ts";
import { tenantDir } from "../../lib/tenant-dirs.ts";
import { FORMAT, FORMAT_VERSION, type ArchiveHeader } from "./archive-format.ts";
import { writeArchive } from "./archive-write.ts";
import { backupOps, type BackupDeps, type Progress } from "./backup-ops.ts";
import { backupView, type BackupView } from "./backup.model.ts";
import { BackupTable, type BackupRow } from "./backup.sql.ts";
import { tenantBackupView, type TenantBackupView } from "./backup.tenant-view.ts";
import { createRestore } from "./restore.ts";
import { BACKUP_ID_META, objectNotOurs, overCaps } from "./retention.ts";
import { createSelfBackupInterval } from "./self-backup-interval.ts";
import { dumpState } from "./state.ts";
import { formatLocation, parseLocation, type Location } from "./location.ts";
import { deleteLocation, listPrefix, openSink } from "./storage.ts";
import { confineLocalFile, confineS3Key, generatedKey, incarnationPrefix, isOurArchive, tenantPrefix, type ConfinedFile } from "./targets.ts";

export type { BackupDeps };

/** Passes bytes on to `inner`, failing once more than `max` have passed (a tenant's backup over its cap). */
function capped(inner: Writable, max: number, message: string): Writable {
  let n = 0;
  const w = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _e, cb) {
      n += chunk.length;
      if (n > max) return cb(new AppError("PAYLOAD_TOO_LARGE", message));
      if (inner.write(chunk)) cb();
      else inner.once("drain", () => cb());
    },
    final(cb) {
      inner.end(() => cb());
    },
  });
  inner.on("error", (err) => w.destroy(err));
  return w;
}

export function createBackupService(deps: BackupDeps) {
  const { home, log } = deps;
  const db = deps.handle.db;
  const ops = backupOps(deps);
  const { entry, recordFailure, slots } = ops;
  const tables = backedUp(deps.tenantData.tables);

  /** The tenant's current incarnation (it exists: callers looked it up first). */
  function incarnationOf(tenantId: string): string {
    const inc = deps.tenants.incarnation(tenantId);
    if (inc === null) throw new AppError("NOT_FOUND", `tenant "${tenantId}" not found`);
    return inc;
  }

  /** Where an admin's or the operator's backup of a tenant goes: confined (see targets.ts). */
  async function adminTarget(tenantId: string, incarnation: string, to: string | null, backupId: string, now: number, overwrite: boolean): Promise<{ location: Location; file: ConfinedFile | null }> {
    if (!to) throw new AppError("INVALID_PARAMS", "give the backup target: s3://bucket/key or an absolute file path");
    const parsed = parseLocation(to, { bucketRoot: true });
    if (parsed.kind === "s3") return { location: { ...parsed, key: confineS3Key(deps.config(), tenantId, incarnation, parsed.bucket, parsed.key, backupId, now) }, file: null };
    const file = confineLocalFile(home, parsed.path, "backup target");
    try {
      if (file.existing && !overwrite) throw new AppError("CONFLICT", `${file.path} already exists`);
      if (file.existing && !(await isOurArchive(file.via))) throw new AppError("INVALID_PARAMS", `${file.path} exists and is not an openclaw backup; refusing to overwrite it`);
    } catch (err) {
      file.close();
      throw err;
    }
    return { location: { kind: "file", path: file.path, via: file.via }, file };
  }

  /** A tenant's backup records, its current incarnation's only, newest first. */
  function rowsOf(tenantId: string): BackupRow[] {
    const inc = deps.tenants.incarnation(tenantId);
    if (inc === null) return [];
    return db
      .select()
      .from(BackupTable)
      .where(and(eq(BackupTable.tenantId, tenantId), eq(BackupTable.incarnation, inc)))
      .orderBy(desc(BackupTable.createdAt), desc(sql`rowid`))
      .all();
  }

  const selfInterval = createSelfBackupInterval({
    minutes: () => deps.config().backup.tenantMinIntervalMinutes,
    lastRecorded: (tenantId) => rowsOf(tenantId).find((r) => r.origin === "tenant")?.createdAt ?? null,
  });

  return {
    /**
     * Backs a tenant up to `to` (`s3://bucket/key` under the tenant's prefix, `s3://bucket/` or a prefix
     * for a generated key, or an absolute file path outside the home; a tenant's own backups always go
     * to the admin's bucket under its prefix, within its caps).
     */
    async backup(tenant: TenantScope, to: string | null, ctx: OpContext, opts: { origin: "admin" | "operator" | "tenant"; keep?: number; overwrite?: boolean; onProgress?: Progress } = { origin: "operator" }) {
      const { tenantId } = tenant;
      deps.tenants.get(tenant); // NOT_FOUND first
      const incarnation = incarnationOf(tenantId);
      const backupId = crypto.randomUUID().replace(/-/g, "").slice(0, 16);
      const now = deps.clock.now();
      const byTenant = opts.origin === "tenant";
      // A tenant over its limits (a tree past the depth limit, say) backs up nothing until it deletes.
      if (byTenant) await deps.disk.assertUnderLimits(tenant, "backing up");
      if (opts.keep !== undefined && (!Number.isInteger(opts.keep) || opts.keep < 1)) throw new AppError("INVALID_PARAMS", "--keep must be a whole number of at least 1");
      let location: Location;
      let file: ConfinedFile | null = null;
      if (byTenant) {
        const bucket = deps.config().backup.s3?.bucket;
        if (!bucket) throw new AppError("CONFIG_INVALID", "the gateway has no backup bucket (backup.s3.bucket); ask the operator");
        location = { kind: "s3", bucket, key: generatedKey(deps.config(), tenantId, incarnation, backupId, now) };
      } else {
        ({ location, file } = await adminTarget(tenantId, incarnation, to, backupId, now, !!opts.overwrite));
      }
      const where = formatLocation(location);
      let slot: ReturnType<typeof slots.acquire>;
      let work: string;
      try {
        // A place another tenant's (or an earlier tenant of this id's) record points at is not ours to replace.
        const holder = db.select().from(BackupTable).where(eq(BackupTable.location, where)).all().find((b) => b.tenantId !== tenantId || b.incarnation !== incarnation);
        if (holder) throw new AppError("CONFLICT", `${where} holds backup ${holder.id} of another tenant; choose another target`);
        if (byTenant) selfInterval.check(tenantId, incarnation, now);
        slot = slots.acquire(tenantId, byTenant);
        // An attempt that got a slot counts, whatever its outcome (a failed one may have uploaded as much).
        if (byTenant) selfInterval.started(tenantId, incarnation, now);
      } catch (err) {
        file?.close();
        throw err;
      }
      try {
        work = ops.scratch("backup");
      } catch (err) {
        slot.release();
        file?.close();
        throw err;
      }
      const key = ops.encryptionKey();
      const maxBytes = deps.config().backup.tenantMaxBytes;
      let sink: Awaited<ReturnType<typeof openSink>> | null = null;
      try {
        deps.tenantData.beforeBackup(tenant);
        const stateFiles = dumpState(deps.handle.sqlite, tables, tenantId, incarnation, path.join(work, "state"));
        sink = await openSink(deps.config(), location, { overwrite: opts.overwrite, metadata: { [BACKUP_ID_META]: backupId } });
        const header: ArchiveHeader = { format: FORMAT, version: FORMAT_VERSION, tenantId, createdAt: new Date(now).toISOString(), gatewayVersion: deps.version, schemaVersion: deps.schemaVersion };
        const stream = byTenant ? capped(sink.stream, maxBytes, `the backup is larger than this tenant's backups may hold (backup.tenantMaxBytes, ${maxBytes} bytes); nothing was stored`) : sink.stream;
        const written = await writeArchive({ header, tenantRoot: tenantDir(home, tenantId), stateFiles, sink: stream, sinkDigest: sink.digest, encryptionKey: key, onProgress: opts.onProgress });
        await sink.done();
        sink = null;
        const row: BackupRow = {
          id: backupId,
          tenantId,
          incarnation,
          location: where,
          sizeBytes: written.sizeBytes,
          sha256: written.sha256,
          encrypted: !!key,
          files: written.files,
          contentBytes: written.contentBytes,
          formatVersion: FORMAT_VERSION,
          gatewayVersion: deps.version,
          origin: opts.origin,
          createdAt: now,
        };
        deps.audit.transact(entry(ctx, "tenant.backup", tenantId, { backupId, location: where, sizeBytes: row.sizeBytes, sha256: row.sha256, encrypted: row.encrypted, files: row.files, skipped: written.skipped.length }), () => {
          // Records of this tenant that pointed here described the archive just replaced.
          db.delete(BackupTable)
            .where(and(eq(BackupTable.location, where), eq(BackupTable.tenantId, tenantId), eq(BackupTable.incarnation, incarnation), ne(BackupTable.id, backupId)))
            .run();
          db.insert(BackupTable).values(row).run();
        });
        deps.metrics?.backup("backup", "ok");
        const pruned = opts.keep ? await this.prune(tenant, opts.keep, ctx) : [];
        if (byTenant) pruned.push(...(await this.pruneOwn(tenant, backupId, ctx)));
        return { ...backupView(row), skipped: written.skipped, pruned };
      } catch (err) {
        await sink?.abort();
        recordFailure(ctx, "tenant.backup", tenantId, { backupId, location: where }, err);
        throw err;
      } finally {
        slot.release();
        file?.close();
        fs.rmSync(work, { recursive: true, force: true });
      }
    },

    restore: createRestore(deps, ops),

    /** What the tenant itself may see of one of its backups (nothing of where the operator keeps them). */
    tenantView: (b: BackupView): TenantBackupView => tenantBackupView(b, deps.config()),

    /** The tenant's backups (its current incarnation's: never a previous owner's of the id), newest first. */
    list(tenant: TenantScope): BackupView[] {
      return rowsOf(tenant.tenantId).map(backupView);
    },

    /** A backup by id; with `tenant`, only one of that tenant's current incarnation. */
    get(backupId: string, tenant?: TenantScope): BackupView {
      const tenantId = tenant?.tenantId;
      const r = db
        .select()
        .from(BackupTable)
        .where(tenantId ? and(eq(BackupTable.id, backupId), eq(BackupTable.tenantId, tenantId), eq(BackupTable.incarnation, deps.tenants.incarnation(tenantId) ?? "(none)")) : eq(BackupTable.id, backupId))
        .get();
      if (!r) throw new AppError("NOT_FOUND", `backup "${backupId.slice(0, 64)}" not found`);
      return backupView(r);
    },

    /**
     * Objects under the tenant's generated-key prefix in a bucket (backups another gateway made, say):
     * the current incarnation's only; for an id no tenant has now, every earlier one's (to restore from).
     */
    async listBucket(tenantId: string, bucket: string) {
      const problem = checkTenantId(tenantId);
      if (problem) throw new AppError("INVALID_PARAMS", describeTenantIdProblem(tenantId, problem));
      const inc = deps.tenants.incarnation(tenantId);
      const prefix = inc === null ? tenantPrefix(deps.config(), tenantId) : incarnationPrefix(deps.config(), tenantId, inc);
      parseLocation(`s3://${bucket}/${prefix}`);
      return (await listPrefix(deps.config(), bucket, prefix)).map((o) => ({ location: `s3://${bucket}/${o.key}`, sizeBytes: o.size, lastModified: o.lastModified }));
    },

    /**
     * Deletes a backup: its record, and the stored archive while it is still the one the record
     * describes (see retention.ts; otherwise the object is left alone and `objectDeleted` is false). Audited.
     */
    async delete(backupId: string, ctx: OpContext, tenant?: TenantScope) {
      const b = this.get(backupId, tenant);
      const row = db.select().from(BackupTable).where(eq(BackupTable.id, backupId)).get()!;
      const shared = db.select({ id: BackupTable.id }).from(BackupTable).where(and(eq(BackupTable.location, b.location), ne(BackupTable.id, backupId))).all().length;
      let kept: string | null;
      try {
        kept = await objectNotOurs(deps.config(), home, row, shared);
        if (kept === null) await deleteLocation(deps.config(), parseLocation(b.location));
      } catch (err) {
        recordFailure(ctx, "tenant.backup.delete", b.tenantId, { backupId, location: b.location }, err);
        throw err;
      }
      if (kept !== null) log.warn("backup record deleted; its location no longer holds that archive, so it was left alone", { backupId, location: b.location, reason: kept });
      deps.audit.transact(entry(ctx, "tenant.backup.delete", b.tenantId, { backupId, location: b.location, objectDeleted: kept === null, ...(kept ? { kept } : {}) }), () => {
        db.delete(BackupTable).where(eq(BackupTable.id, backupId)).run();
      });
      deps.metrics?.backup("delete", "ok");
      return { backupId, deleted: true as const, location: b.location, objectDeleted: kept === null };
    },

    /** Keeps the newest `keep` backups of a tenant (its current incarnation's records only); deletes the rest. */
    async prune(tenant: TenantScope, keep: number, ctx: OpContext) {
      const out: string[] = [];
      for (const b of rowsOf(tenant.tenantId).slice(keep)) {
        await this.delete(b.id, ctx, tenant);
        out.push(b.id);
      }
      return out;
    },

    /** Prunes the tenant's own backups (oldest first) to backup.tenantMaxBackups and backup.tenantMaxBytes; `keepId` stays. */
    async pruneOwn(tenant: TenantScope, keepId: string, ctx: OpContext) {
      const b = deps.config().backup;
      const out: string[] = [];
      for (const r of overCaps(rowsOf(tenant.tenantId).filter((r) => r.origin === "tenant"), keepId, b.tenantMaxBackups, b.tenantMaxBytes)) {
        await this.delete(r.id, ctx, tenant);
        out.push(r.id);
      }
      return out;
    },
  };
}

export type BackupService = ReturnType<typeof createBackupService>;
