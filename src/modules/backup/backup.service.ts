// Tenant backup and restore. A backup streams the tenant's directory and rows into an archive at an
// S3 location or a file, records it in state.db and the audit log. A restore extracts an archive into
// a private temporary directory, verifies everything against the manifest, and only then, in one
// audited transaction, puts the rows in place and renames the directory in (replacing an existing
// tenant only with `force`, atomically). A refused restore changes nothing and is audited as such.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { and, desc, eq, ne, sql } from "drizzle-orm";
import type { GatewayConfig } from "../../config/schema.ts";
import type { Clock } from "../../core/clock.ts";
import { AppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { DbHandle } from "../../db/client.ts";
import { checkTenantId, describeTenantIdProblem } from "../../lib/ids.ts";
import type { AuditLog } from "../audit/audit.service.ts";
import type { QuotaEngine } from "../quotas/quota-engine.ts";
import { sandboxIdentity } from "../sandbox/host.ts";
import { moveToTrash, tenantDir, tenantsRoot } from "../tenants/tenant-dirs.ts";
import type { OpContext, TenantsService } from "../tenants/tenants.service.ts";
import { TenantTable } from "../tenants/tenants.sql.ts";
import type { TokensService } from "../tokens/tokens.service.ts";
import type { Ledger } from "../usage/ledger.ts";
import { extractArchive, FORMAT, FORMAT_VERSION, verifyManifest, writeArchive, type ArchiveHeader } from "./archive.ts";
import { BackupTable, type BackupRow } from "./backup.sql.ts";
import { checkEncryptionKey } from "./encryption.ts";
import { applyState, dumpState } from "./state.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { deleteLocation, formatLocation, listPrefix, openSink, openSource, parseLocation, type Location } from "./storage.ts";
import type { DiskGuard } from "../sandbox/disk.ts";
import { fsyncDir } from "../../lib/fs-durable.ts";
import { createBackupSlots } from "./backup-slots.ts";
import { createSelfBackupInterval } from "./self-backup-interval.ts";
import { BACKUP_ID_META, objectNotOurs, overCaps } from "./retention.ts";
import { confineLocalFile, confineS3Key, generatedKey, incarnationPrefix, isOurArchive, tenantPrefix, type ConfinedFile } from "./targets.ts";

export interface BackupDeps {
  home: string;
  version: string;
  schemaVersion: number;
  config: () => GatewayConfig;
  handle: DbHandle;
  audit: AuditLog;
  tenants: TenantsService;
  tokens: TokensService;
  quotaEngine: QuotaEngine;
  ledger: Ledger;
  clock: Clock;
  log: Logger;
  metrics?: Metrics;
  /** The tenant disk limits and the gateway's reserve, which a restore must fit. */
  disk: Pick<DiskGuard, "restoreGuard" | "forget">;
}

export interface Progress {
  (done: number, total: number | null): void;
}

export interface BackupView {
  backupId: string;
  tenantId: string;
  location: string;
  sizeBytes: number;
  sha256: string;
  encrypted: boolean;
  files: number;
  contentBytes: number;
  formatVersion: number;
  gatewayVersion: string;
  origin: string;
  createdAt: string;
}

function view(r: BackupRow): BackupView {
  return {
    backupId: r.id,
    tenantId: r.tenantId,
    location: r.location,
    sizeBytes: r.sizeBytes,
    sha256: r.sha256,
    encrypted: r.encrypted,
    files: r.files,
    contentBytes: r.contentBytes,
    formatVersion: r.formatVersion,
    gatewayVersion: r.gatewayVersion,
    origin: r.origin,
    createdAt: new Date(r.createdAt).toISOString(),
  };
}

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

/** Writes everything dirty on the filesystem holding `dir` to disk (syncfs, through coreutils' `sync -f`). */
async function flushFilesystem(dir: string): Promise<void> {
  const p = Bun.spawn(["sync", "-f", dir], { stdout: "ignore", stderr: "pipe" });
  if ((await p.exited) !== 0) throw new AppError("INTERNAL", `could not flush the restored files to disk: ${(await new Response(p.stderr).text()).trim()}`);
}

export function createBackupService(deps: BackupDeps) {
  const { home, log } = deps;
  const db = deps.handle.db;

  const entry = (ctx: OpContext, action: string, tenant: string, details: Record<string, unknown>, outcome?: "ok" | "denied" | "error") => ({
    actor: ctx.actor,
    action,
    target: { type: "tenant", id: tenant },
    tenant,
    requestId: ctx.requestId,
    clientRequestId: ctx.clientRequestId,
    src: { ip: ctx.ip },
    details,
    outcome,
  });

  function recordFailure(ctx: OpContext, action: string, tenant: string, details: Record<string, unknown>, err: unknown) {
    const refused = err instanceof AppError && (err.code === "INVALID_PARAMS" || err.code === "CONFLICT" || err.code === "PAYLOAD_TOO_LARGE");
    deps.metrics?.backup(action === "tenant.backup" ? "backup" : action === "tenant.restore" ? "restore" : "delete", refused ? "refused" : "error");
    try {
      deps.audit.record(entry(ctx, action, tenant, { ...details, reason: err instanceof Error ? err.message.slice(0, 500) : String(err) }, err instanceof AppError && err.code === "INVALID_PARAMS" ? "denied" : "error"));
    } catch (auditErr) {
      log.error("could not audit a failed backup operation", { error: String(auditErr) });
    }
  }

  function encryptionKey(): string | undefined {
    const k = deps.config().backup.encryptionKey;
    if (k) checkEncryptionKey(k);
    return k || undefined;
  }

  function limits() {
    const b = deps.config().backup;
    return { maxBytes: b.maxRestoreBytes, maxEntries: b.maxRestoreEntries, tenant: deps.disk.restoreGuard() };
  }

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

  /** A scratch directory inside the home (0700), removed by the caller. */
  function scratch(kind: string): string {
    const base = path.join(home, "run");
    fs.mkdirSync(base, { recursive: true, mode: 0o700 });
    return fs.mkdtempSync(path.join(base, `${kind}-`));
  }

  const slots = createBackupSlots(undefined, undefined, () => deps.clock.now());

  const selfInterval = createSelfBackupInterval({
    minutes: () => deps.config().backup.tenantMinIntervalMinutes,
    lastRecorded: (tenantId) => rowsOf(tenantId).find((r) => r.origin === "tenant")?.createdAt ?? null,
  });

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

  return {
    /**
     * Backs a tenant up to `to` (`s3://bucket/key` under the tenant's prefix, `s3://bucket/` or a prefix
     * for a generated key, or an absolute file path outside the home; a tenant's own backups always go
     * to the admin's bucket under its prefix, within its caps).
     */
    async backup(tenantId: string, to: string | null, ctx: OpContext, opts: { origin: "admin" | "operator" | "tenant"; keep?: number; overwrite?: boolean; onProgress?: Progress } = { origin: "operator" }) {
      deps.tenants.get(tenantId); // NOT_FOUND first
      const incarnation = incarnationOf(tenantId);
      const backupId = crypto.randomUUID().replace(/-/g, "").slice(0, 16);
      const now = deps.clock.now();
      const byTenant = opts.origin === "tenant";
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
        work = scratch("backup");
      } catch (err) {
        slot.release();
        file?.close();
        throw err;
      }
      const key = encryptionKey();
      const maxBytes = deps.config().backup.tenantMaxBytes;
      let sink: Awaited<ReturnType<typeof openSink>> | null = null;
      try {
        deps.ledger.flush();
        const stateFiles = dumpState(deps.handle.sqlite, tenantId, incarnation, path.join(work, "state"));
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
        const pruned = opts.keep ? await this.prune(tenantId, opts.keep, ctx) : [];
        if (byTenant) pruned.push(...(await this.pruneOwn(tenantId, backupId, ctx)));
        return { ...view(row), skipped: written.skipped, pruned };
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

    /**
     * Restores from `from`. Without `as` the tenant comes back under its own id with its old token;
     * with `as` under a new id with a new token (returned once). An existing target needs `force`.
     */
    async restore(from: string, ctx: OpContext, opts: { as?: string; force?: boolean; onProgress?: Progress; fullCollections?: boolean } = {}) {
      let location = parseLocation(from);
      const where = formatLocation(location);
      // A file inside the home (a tenant's directory, say) could be an archive a tenant wrote itself.
      let file: ConfinedFile | null = null;
      if (location.kind === "file") {
        try {
          file = confineLocalFile(home, location.path, "restore source");
        } catch (err) {
          recordFailure(ctx, "tenant.restore", opts.as ?? "(unknown)", { from: where, as: opts.as ?? null, force: !!opts.force }, err);
          throw err;
        }
        location = { ...location, via: file.via };
      }
      if (opts.as !== undefined) {
        const problem = checkTenantId(opts.as);
        if (problem) throw new AppError("INVALID_PARAMS", describeTenantIdProblem(opts.as, problem));
      }
      const exists = (id: string) => !!db.select({ id: TenantTable.id }).from(TenantTable).where(eq(TenantTable.id, id)).get() || fs.existsSync(tenantDir(home, id));
      let target = opts.as ?? null;
      fs.mkdirSync(tenantsRoot(home), { recursive: true, mode: 0o700 });
      const tmp = path.join(tenantsRoot(home), `.restore-${crypto.randomUUID()}`);
      let source: Awaited<ReturnType<typeof openSource>> | null = null;
      let slot: ReturnType<typeof slots.acquire>;
      try {
        slot = slots.acquire(target, false);
      } catch (err) {
        file?.close();
        throw err;
      }
      try {
        if (target && exists(target) && !opts.force) throw new AppError("CONFLICT", `tenant "${target}" already exists; restore with --force to replace it, or --as <newid>`);
        source = await openSource(deps.config(), location);
        const total = source.size;
        const x = await extractArchive({
          source: source.stream,
          into: tmp,
          encryptionKey: encryptionKey(),
          limits: limits(),
          fullCollections: opts.fullCollections,
          onProgress: opts.onProgress ? (n) => opts.onProgress!(n, total) : undefined,
          onHeader: (h) => {
            target ??= h.tenantId;
            slot.claim(target);
            if (exists(target) && !opts.force) throw new AppError("CONFLICT", `tenant "${target}" already exists; restore with --force to replace it, or --as <newid>`);
          },
        });
        verifyManifest(x);
        // On disk before the rows say the tenant is restored (and before --force lets the old one go).
        await flushFilesystem(tmp);
        const source_ = x.header.tenantId;
        const to = target!;
        const renamed = to !== source_;
        const staged = path.join(tmp, "tenant");
        if (!fs.existsSync(staged)) fs.mkdirSync(staged, { mode: 0o700 });
        let replaced = false;
        let replacedIncarnation: string | null = null;
        const { result } = deps.audit.transact(
          (r: { token: string | null; actorId: string | null; counts: Record<string, number> }) =>
            entry(ctx, "tenant.restore", to, { from: where, archiveSha256: x.archiveSha256, sourceTenant: source_, as: opts.as ?? null, force: !!opts.force, replaced, token: r.actorId, rows: r.counts }),
          (onRollback) => {
            const existing = exists(to);
            if (existing && !opts.force) throw new AppError("CONFLICT", `tenant "${to}" already exists; restore with --force to replace it, or --as <newid>`);
            if (existing) {
              replaced = true;
              replacedIncarnation = deps.tenants.incarnation(to);
              deps.tokens.revokeAll(to);
              db.delete(TenantTable).where(eq(TenantTable.id, to)).run();
              const trashed = moveToTrash(home, to);
              if (trashed) onRollback(() => fs.renameSync(trashed, tenantDir(home, to)));
            }
            const counts = applyState(deps.handle.sqlite, path.join(tmp, "state"), {
              sourceTenant: source_,
              targetTenant: to,
              // The same tenant comes back as itself (its own history visible again); a copy under
              // another id is a new tenant, with a new incarnation.
              newIncarnation: renamed,
              keepTokens: !renamed,
              newIds: renamed,
              now: deps.clock.now(),
              maxRows: 50_000_000,
            });
            let issued: { token: string; actorId: string } | null = null;
            if (renamed || counts.tenant_tokens === 0) issued = deps.tokens.issue(to);
            fs.renameSync(staged, tenantDir(home, to));
            onRollback(() => fs.renameSync(tenantDir(home, to), staged));
            return { token: issued?.token ?? null, actorId: issued?.actorId ?? null, counts };
          },
        );
        fsyncDir(tenantsRoot(home)); // the rename into place
        // Sandboxed code must be able to use the restored workspace.
        const id = sandboxIdentity();
        if (id.viaStage) chownTree(path.join(tenantDir(home, to), "workspace"), id.uid, id.gid);
        deps.quotaEngine.forget(to);
        deps.disk.forget(to);
        deps.metrics?.backup("restore", "ok");
        // The replaced tenant's running work ends (its runs wrote into the directory now in the trash).
        if (replacedIncarnation) await deps.tenants.tenantStopped({ tenantId: to, incarnation: replacedIncarnation, reason: "replaced" });
        // Whatever the replaced tenant left in the trash goes now.
        fs.rmSync(path.join(tenantsRoot(home), ".trash"), { recursive: true, force: true });
        const files = [...x.seen].filter(([k, e]) => k.startsWith("tenant/") && e.type === "file").length;
        return { tenantId: to, sourceTenant: source_, token: result.token, replaced, files, archiveSha256: x.archiveSha256, createdAt: x.header.createdAt, rows: result.counts };
      } catch (err) {
        recordFailure(ctx, "tenant.restore", target ?? opts.as ?? "(unknown)", { from: where, as: opts.as ?? null, force: !!opts.force }, err);
        throw err;
      } finally {
        slot.release();
        source?.close();
        file?.close();
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },

    /** The tenant's backups (its current incarnation's: never a previous owner's of the id), newest first. */
    list(tenantId: string): BackupView[] {
      return rowsOf(tenantId).map(view);
    },

    get(backupId: string, tenantId?: string): BackupView {
      const r = db
        .select()
        .from(BackupTable)
        .where(tenantId ? and(eq(BackupTable.id, backupId), eq(BackupTable.tenantId, tenantId), eq(BackupTable.incarnation, deps.tenants.incarnation(tenantId) ?? "(none)")) : eq(BackupTable.id, backupId))
        .get();
      if (!r) throw new AppError("NOT_FOUND", `backup "${backupId.slice(0, 64)}" not found`);
      return view(r);
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
    async delete(backupId: string, ctx: OpContext, tenantId?: string) {
      const b = this.get(backupId, tenantId);
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
    async prune(tenantId: string, keep: number, ctx: OpContext) {
      const out: string[] = [];
      for (const b of rowsOf(tenantId).slice(keep)) {
        await this.delete(b.id, ctx, tenantId);
        out.push(b.id);
      }
      return out;
    },

    /** Prunes the tenant's own backups (oldest first) to backup.tenantMaxBackups and backup.tenantMaxBytes; `keepId` stays. */
    async pruneOwn(tenantId: string, keepId: string, ctx: OpContext) {
      const b = deps.config().backup;
      const out: string[] = [];
      for (const r of overCaps(rowsOf(tenantId).filter((r) => r.origin === "tenant"), keepId, b.tenantMaxBackups, b.tenantMaxBytes)) {
        await this.delete(r.id, ctx, tenantId);
        out.push(r.id);
      }
      return out;
    },
  };
}

function chownTree(root: string, uid: number, gid: number): void {
  if (!fs.existsSync(root)) return;
  fs.lchownSync(root, uid, gid);
  for (const e of fs.readdirSync(root, { recursive: true, withFileTypes: true })) fs.lchownSync(path.join(e.parentPath, e.name), uid, gid);
}

export type BackupService = ReturnType<typeof createBackupService>;
