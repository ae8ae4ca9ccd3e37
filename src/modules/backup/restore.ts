// Restoring a tenant. The archive is extracted into a private temporary directory and everything in
// it verified against the manifest; only then, in one audited transaction, are the rows put in place
// (the tables the modules declare) and the directory renamed in, replacing an existing tenant only with
// `force`, atomically. A refused restore changes nothing and is audited as such. Afterwards every
// module is told (TenantData.onRestore).
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { AppError } from "../../core/errors.ts";
import { backedUp } from "../../db/tenant-rows.ts";
import type { AdminContext } from "../../edge/tenant-scope.ts";
import { fsyncDir } from "../../lib/fs-durable.ts";
import { checkTenantId, describeTenantIdProblem } from "../../lib/ids.ts";
import { discardTree, emptyTrash, tenantDir, tenantsRoot } from "../../lib/tenant-dirs.ts";
import { extractArchive, verifyManifest } from "./archive-read.ts";
import type { BackupDeps, BackupOps, Progress } from "./backup-ops.ts";
import { applyState } from "./state.ts";
import { confineLocalFile, type ConfinedFile } from "./targets.ts";
import { formatLocation, parseLocation } from "./location.ts";
import { openSource } from "./storage.ts";

/** Writes everything dirty on the filesystem holding `dir` to disk (syncfs, through coreutils' `sync -f`). */
async function flushFilesystem(dir: string): Promise<void> {
  const p = Bun.spawn(["sync", "-f", dir], { stdout: "ignore", stderr: "pipe" });
  if ((await p.exited) !== 0) throw new AppError("INTERNAL", `could not flush the restored files to disk: ${(await new Response(p.stderr).text()).trim()}`);
}

export interface RestoreOptions {
  /** Restore under this id, as a copy with a new incarnation and a new token. */
  as?: string;
  /** Replace an existing tenant of the id. */
  force?: boolean;
  onProgress?: Progress;
  fullCollections?: boolean;
}

export function createRestore(deps: BackupDeps, ops: BackupOps) {
  const { home } = deps;
  const tables = backedUp(deps.tenantData.tables);
  const exists = (id: string) => deps.tenants.exists(id) || fs.existsSync(tenantDir(home, id));

  /**
   * Restores from `from`. Without `as` the tenant comes back under its own id with its old token;
   * with `as` under a new id with a new token (returned once). An existing target needs `force`.
   */
  return async function restore(from: string, ctx: AdminContext, opts: RestoreOptions = {}) {
    let location = parseLocation(from);
    const where = formatLocation(location);
    const failed = (tenant: string, err: unknown) => ops.recordFailure(ctx, "tenant.restore", tenant, { from: where, as: opts.as ?? null, force: !!opts.force }, err);
    // A file inside the home (a tenant's directory, say) could be an archive a tenant wrote itself.
    let file: ConfinedFile | null = null;
    if (location.kind === "file") {
      try {
        file = confineLocalFile(home, location.path, "restore source");
      } catch (err) {
        failed(opts.as ?? "(unknown)", err);
        throw err;
      }
      location = { ...location, via: file.via };
    }
    if (opts.as !== undefined) {
      const problem = checkTenantId(opts.as);
      if (problem) throw new AppError("INVALID_PARAMS", describeTenantIdProblem(opts.as, problem));
    }
    let target = opts.as ?? null;
    fs.mkdirSync(tenantsRoot(home), { recursive: true, mode: 0o700 });
    const tmp = path.join(tenantsRoot(home), `.restore-${crypto.randomUUID()}`);
    let source: Awaited<ReturnType<typeof openSource>> | null = null;
    let slot: ReturnType<BackupOps["slots"]["acquire"]>;
    try {
      slot = ops.slots.acquire(target, false);
    } catch (err) {
      file?.close();
      throw err;
    }
    const taken = (id: string) => new AppError("CONFLICT", `tenant "${id}" already exists; restore with --force to replace it, or --as <newid>`);
    try {
      if (target && exists(target) && !opts.force) throw taken(target);
      source = await openSource(deps.config(), location);
      const total = source.size;
      const x = await extractArchive({
        source: source.stream,
        into: tmp,
        encryptionKey: ops.encryptionKey(),
        limits: ops.restoreLimits(),
        tables: tables.map((t) => t.table),
        fullCollections: opts.fullCollections,
        onProgress: opts.onProgress ? (n) => opts.onProgress!(n, total) : undefined,
        onHeader: (h) => {
          target ??= h.tenantId;
          slot.claim(target);
          if (exists(target) && !opts.force) throw taken(target);
        },
      });
      verifyManifest(x);
      // On disk before the rows say the tenant is restored (and before --force lets the old one go).
      await flushFilesystem(tmp);
      const sourceTenant = x.header.tenantId;
      const to = target!;
      // The same tenant comes back as itself (its own history visible again); a copy under another
      // id is a new tenant, with a new incarnation.
      const copy = to !== sourceTenant;
      const staged = path.join(tmp, "tenant");
      if (!fs.existsSync(staged)) fs.mkdirSync(staged, { mode: 0o700 });
      let replaced = false;
      let replacedIncarnation: string | null = null;
      const { result } = deps.audit.transact(
        (r: { token: string | null; actorId: string | null; counts: Record<string, number> }) =>
          ops.entry(ctx, "tenant.restore", to, { from: where, archiveSha256: x.archiveSha256, sourceTenant, as: opts.as ?? null, force: !!opts.force, replaced, token: r.actorId, rows: r.counts }),
        (onRollback) => {
          const existing = exists(to);
          if (existing && !opts.force) throw taken(to);
          if (existing) {
            replaced = true;
            replacedIncarnation = deps.tenants.replaceWithin(to, onRollback);
          }
          const counts = applyState(deps.handle.sqlite, tables, path.join(tmp, "state"), { sourceTenant, targetTenant: to, copy, now: deps.clock.now(), maxRows: 50_000_000 });
          const issued = deps.tenants.tokenAfterRestore(to, copy);
          fs.renameSync(staged, tenantDir(home, to));
          onRollback(() => fs.renameSync(tenantDir(home, to), staged));
          return { token: issued?.token ?? null, actorId: issued?.actorId ?? null, counts };
        },
      );
      fsyncDir(tenantsRoot(home)); // the rename into place
      deps.tenantData.restored(ctx.tenant(to));
      deps.metrics?.backup("restore", "ok");
      // The replaced tenant's running work ends (its runs wrote into the directory now in the trash).
      if (replacedIncarnation) await deps.tenants.tenantStopped({ tenantId: to, incarnation: replacedIncarnation, reason: "replaced" });
      // Whatever the replaced tenant left in the trash goes now (in time slices: any depth or size).
      await emptyTrash(home, (err) => deps.log.warn("a trashed tenant directory could not be removed yet (the next start tries again)", { error: String(err) }));
      const files = [...x.seen].filter(([k, e]) => k.startsWith("tenant/") && e.type === "file").length;
      return { tenantId: to, sourceTenant, token: result.token, replaced, files, archiveSha256: x.archiveSha256, createdAt: x.header.createdAt, rows: result.counts };
    } catch (err) {
      failed(target ?? opts.as ?? "(unknown)", err);
      throw err;
    } finally {
      slot.release();
      source?.close();
      file?.close();
      // The scratch copy (what was not renamed into place) goes in time slices, like the trash.
      if (fs.existsSync(tmp)) await discardTree(tmp, (err) => deps.log.warn("a restore's scratch directory could not be removed", { dir: path.basename(tmp), error: String(err) }));
    }
  };
}
