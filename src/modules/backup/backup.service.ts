// Tenant backup and restore. A backup streams the tenant's directory and rows into an archive at an
// S3 location or a file, records it in state.db and the audit log. A restore extracts an archive into
// a private temporary directory, verifies everything against the manifest, and only then, in one
// audited transaction, puts the rows in place and renames the directory in (replacing an existing
// tenant only with `force`, atomically). A refused restore changes nothing and is audited as such.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { and, desc, eq } from "drizzle-orm";
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

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
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

  /** The tenant-prefixed default key: `<prefix>tenants/<id>/<time>-<backupId>.tar.zst`. */
  function defaultKey(tenantId: string, backupId: string, when: number): string {
    const prefix = deps.config().backup.s3?.prefix ?? "";
    return `${prefix}tenants/${tenantId}/${stamp(when)}-${backupId}.tar.zst`;
  }

  /** A scratch directory inside the home (0700), removed by the caller. */
  function scratch(kind: string): string {
    const base = path.join(home, "run");
    fs.mkdirSync(base, { recursive: true, mode: 0o700 });
    return fs.mkdtempSync(path.join(base, `${kind}-`));
  }

  // A backup or restore holds a few hundred MB and a core's worth of CPU: one per tenant at a time,
  // and at most MAX_RUNNING in all, so a tenant cannot queue up backups to starve the gateway.
  const MAX_RUNNING = 2;
  let running = 0;
  const busy = new Set<string>();
  /** Takes one of the MAX_RUNNING slots, and the tenant's own slot when it is known already. */
  function acquire(tenantId: string | null) {
    if (tenantId !== null && busy.has(tenantId)) throw new AppError("RATE_LIMITED", `a backup or restore of tenant "${tenantId}" is already running`, { headers: { "retry-after": "5" } });
    if (running >= MAX_RUNNING) throw new AppError("RATE_LIMITED", `${MAX_RUNNING} backups or restores are already running; retry shortly`, { headers: { "retry-after": "5" } });
    running++;
    const held = new Set<string>();
    const slot = {
      /** Claims a tenant once a restore has read which one its archive holds. */
      claim(id: string) {
        if (held.has(id)) return;
        if (busy.has(id)) throw new AppError("RATE_LIMITED", `a backup or restore of tenant "${id}" is already running`, { headers: { "retry-after": "5" } });
        busy.add(id);
        held.add(id);
      },
      release() {
        for (const id of held) busy.delete(id);
        held.clear();
        running--;
      },
    };
    if (tenantId !== null) slot.claim(tenantId);
    return slot;
  }

  return {
    /**
     * Backs a tenant up to `to` (`s3://bucket/key`, `s3://bucket/prefix/` for a generated key, or an
     * absolute file path; a tenant's own backups always go to the admin's bucket under its prefix).
     */
    async backup(tenantId: string, to: string | null, ctx: OpContext, opts: { origin: "admin" | "operator" | "tenant"; keep?: number; overwrite?: boolean; onProgress?: Progress } = { origin: "operator" }) {
      deps.tenants.get(tenantId); // NOT_FOUND first
      const backupId = crypto.randomUUID().replace(/-/g, "").slice(0, 16);
      const now = deps.clock.now();
      let location: Location;
      if (opts.origin === "tenant") {
        const bucket = deps.config().backup.s3?.bucket;
        if (!bucket) throw new AppError("CONFIG_INVALID", "the gateway has no backup bucket (backup.s3.bucket); ask the operator");
        location = { kind: "s3", bucket, key: defaultKey(tenantId, backupId, now) };
      } else {
        if (!to) throw new AppError("INVALID_PARAMS", "give the backup target: s3://bucket/key or an absolute file path");
        location = parseLocation(to);
        if (location.kind === "s3" && location.key.endsWith("/")) location = { ...location, key: `${location.key}${defaultKey(tenantId, backupId, now)}` };
        if (location.kind === "file") {
          const root = path.resolve(tenantDir(home, tenantId));
          if (location.path === root || location.path.startsWith(`${root}/`)) throw new AppError("INVALID_PARAMS", "the backup file cannot be inside the tenant's own directory");
        }
      }
      if (opts.keep !== undefined && (!Number.isInteger(opts.keep) || opts.keep < 1)) throw new AppError("INVALID_PARAMS", "--keep must be a whole number of at least 1");
      const where = formatLocation(location);
      const key = encryptionKey();
      const slot = acquire(tenantId);
      let work: string;
      try {
        work = scratch("backup");
      } catch (err) {
        slot.release();
        throw err;
      }
      let sink: Awaited<ReturnType<typeof openSink>> | null = null;
      try {
        deps.ledger.flush();
        const stateFiles = dumpState(deps.handle.sqlite, tenantId, path.join(work, "state"));
        sink = await openSink(deps.config(), location, { overwrite: opts.overwrite });
        const header: ArchiveHeader = { format: FORMAT, version: FORMAT_VERSION, tenantId, createdAt: new Date(now).toISOString(), gatewayVersion: deps.version, schemaVersion: deps.schemaVersion };
        const written = await writeArchive({ header, tenantRoot: tenantDir(home, tenantId), stateFiles, sink: sink.stream, sinkDigest: sink.digest, encryptionKey: key, onProgress: opts.onProgress });
        await sink.done();
        sink = null;
        const row: BackupRow = {
          id: backupId,
          tenantId,
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
          db.insert(BackupTable).values(row).run();
        });
        deps.metrics?.backup("backup", "ok");
        const pruned = opts.keep ? await this.prune(tenantId, opts.keep, ctx) : [];
        return { ...view(row), skipped: written.skipped, pruned };
      } catch (err) {
        await sink?.abort();
        recordFailure(ctx, "tenant.backup", tenantId, { backupId, location: where }, err);
        throw err;
      } finally {
        slot.release();
        fs.rmSync(work, { recursive: true, force: true });
      }
    },

    /**
     * Restores from `from`. Without `as` the tenant comes back under its own id with its old token;
     * with `as` under a new id with a new token (returned once). An existing target needs `force`.
     */
    async restore(from: string, ctx: OpContext, opts: { as?: string; force?: boolean; onProgress?: Progress; fullCollections?: boolean } = {}) {
      const location = parseLocation(from);
      const where = formatLocation(location);
      if (opts.as !== undefined) {
        const problem = checkTenantId(opts.as);
        if (problem) throw new AppError("INVALID_PARAMS", describeTenantIdProblem(opts.as, problem));
      }
      const exists = (id: string) => !!db.select({ id: TenantTable.id }).from(TenantTable).where(eq(TenantTable.id, id)).get() || fs.existsSync(tenantDir(home, id));
      let target = opts.as ?? null;
      fs.mkdirSync(tenantsRoot(home), { recursive: true, mode: 0o700 });
      const tmp = path.join(tenantsRoot(home), `.restore-${crypto.randomUUID()}`);
      let source: Awaited<ReturnType<typeof openSource>> | null = null;
      const slot = acquire(target);
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
        const { result } = deps.audit.transact(
          (r: { token: string | null; actorId: string | null; counts: Record<string, number> }) =>
            entry(ctx, "tenant.restore", to, { from: where, archiveSha256: x.archiveSha256, sourceTenant: source_, as: opts.as ?? null, force: !!opts.force, replaced, token: r.actorId, rows: r.counts }),
          (onRollback) => {
            const existing = exists(to);
            if (existing && !opts.force) throw new AppError("CONFLICT", `tenant "${to}" already exists; restore with --force to replace it, or --as <newid>`);
            if (existing) {
              replaced = true;
              deps.tokens.revokeAll(to);
              db.delete(TenantTable).where(eq(TenantTable.id, to)).run();
              const trashed = moveToTrash(home, to);
              if (trashed) onRollback(() => fs.renameSync(trashed, tenantDir(home, to)));
            }
            const counts = applyState(deps.handle.sqlite, path.join(tmp, "state"), {
              sourceTenant: source_,
              targetTenant: to,
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
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },

    list(tenantId: string): BackupView[] {
      return db.select().from(BackupTable).where(eq(BackupTable.tenantId, tenantId)).orderBy(desc(BackupTable.createdAt)).all().map(view);
    },

    get(backupId: string, tenantId?: string): BackupView {
      const r = db
        .select()
        .from(BackupTable)
        .where(tenantId ? and(eq(BackupTable.id, backupId), eq(BackupTable.tenantId, tenantId)) : eq(BackupTable.id, backupId))
        .get();
      if (!r) throw new AppError("NOT_FOUND", `backup "${backupId.slice(0, 64)}" not found`);
      return view(r);
    },

    /** Objects under the tenant's prefix in a bucket (backups another gateway made, say). */
    async listBucket(tenantId: string, bucket: string) {
      const prefix = `${deps.config().backup.s3?.prefix ?? ""}tenants/${tenantId}/`;
      parseLocation(`s3://${bucket}/${prefix}`);
      return (await listPrefix(deps.config(), bucket, prefix)).map((o) => ({ location: `s3://${bucket}/${o.key}`, sizeBytes: o.size, lastModified: o.lastModified }));
    },

    /** Deletes a backup: the stored archive, then its row, audited. */
    async delete(backupId: string, ctx: OpContext, tenantId?: string) {
      const b = this.get(backupId, tenantId);
      try {
        await deleteLocation(deps.config(), parseLocation(b.location));
      } catch (err) {
        recordFailure(ctx, "tenant.backup.delete", b.tenantId, { backupId, location: b.location }, err);
        throw err;
      }
      deps.audit.transact(entry(ctx, "tenant.backup.delete", b.tenantId, { backupId, location: b.location }), () => {
        db.delete(BackupTable).where(eq(BackupTable.id, backupId)).run();
      });
      deps.metrics?.backup("delete", "ok");
      return { backupId, deleted: true as const, location: b.location };
    },

    /** Keeps the newest `keep` backups of a tenant; deletes the rest. */
    async prune(tenantId: string, keep: number, ctx: OpContext) {
      const old = this.list(tenantId).slice(keep);
      const out: string[] = [];
      for (const b of old) {
        await this.delete(b.backupId, ctx);
        out.push(b.backupId);
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
