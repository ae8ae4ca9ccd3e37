// `openclaw tenants backup | restore | backups`: tenant archives to and from S3 or files.
import { defineCommand } from "citty";
import { action, CliError, commonArgs, emit, line, operator, withCore, type CommonArgs } from "../../context.ts";
import { terminalProgress } from "../../progress.ts";
import path from "node:path";

/** A file path from the command line is taken relative to the working directory. */
function location(raw: string): string {
  return raw.startsWith("s3://") || /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : path.resolve(raw);
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

export const backup = defineCommand({
  meta: { name: "backup", description: "Back a tenant up: its directory and its rows, tar + zstd (encrypted if backup.encryptionKey is set)" },
  args: {
    ...commonArgs,
    id: { type: "positional", required: true, description: "tenant id" },
    to: { type: "string", required: true, description: "s3://bucket/ (key generated under tenants/<id>/), s3://bucket/<prefix>tenants/<id>/key, or a file path outside the home" },
    keep: { type: "string", description: "then keep only the newest N backups of this tenant" },
    force: { type: "boolean", description: "overwrite an existing file" },
  },
  run: action<CommonArgs & { id: string; to: string; keep?: string; force?: boolean }>((args) =>
    withCore(args, async (core) => {
      let keep: number | undefined;
      if (args.keep !== undefined) {
        keep = Number(args.keep);
        if (!Number.isInteger(keep) || keep < 1) throw new CliError("--keep must be a whole number of at least 1");
      }
      const progress = terminalProgress(`backup ${args.id}`, !args.json);
      try {
        const r = await core.backups.backup(args.id, location(args.to), operator(core), { origin: "operator", keep, overwrite: args.force, onProgress: progress.update });
        progress.end();
        emit(args, r, () => {
          line(`✓ backed up tenant ${r.tenantId}: ${r.files} files, ${mb(r.contentBytes)} → ${mb(r.sizeBytes)}${r.encrypted ? " (encrypted)" : ""}`);
          line(`  ${r.location}`);
          line(`  backup ${r.backupId} · sha256 ${r.sha256}`);
          for (const s of r.skipped) line(`  skipped ${s.path} (${s.kind}: only files and directories are backed up)`);
          if (r.pruned.length) line(`  deleted ${r.pruned.length} older backup(s) (--keep ${keep})`);
        });
      } finally {
        progress.end();
      }
    }),
  ),
});

export const restore = defineCommand({
  meta: { name: "restore", description: "Restore a tenant from a backup (refused, changing nothing, if anything in the archive is wrong)" },
  args: {
    ...commonArgs,
    from: { type: "string", required: true, description: "s3://bucket/key or a file path" },
    as: { type: "string", description: "restore under this new tenant id, with a new token (shown once)" },
    force: { type: "boolean", description: "replace an existing tenant, atomically" },
  },
  run: action<CommonArgs & { from: string; as?: string; force?: boolean }>((args) =>
    withCore(args, async (core) => {
      const progress = terminalProgress("restore", !args.json);
      try {
        // The CLI process does nothing else: it may stop for full collections to keep its memory low.
        const r = await core.backups.restore(location(args.from), operator(core), { as: args.as, force: args.force, onProgress: progress.update, fullCollections: true });
        progress.end();
        emit(args, r, () => {
          line(`✓ restored tenant ${r.tenantId}${r.sourceTenant !== r.tenantId ? ` (from ${r.sourceTenant})` : ""}: ${r.files} files${r.replaced ? ", replacing the existing tenant" : ""}`);
          line(`  backup taken ${r.createdAt} · archive sha256 ${r.archiveSha256}`);
          if (r.token) {
            line("");
            line(`  Token (shown once, store it now): ${r.token}`);
          } else line("  the tenant's token from the backup works again");
        });
      } finally {
        progress.end();
      }
    }),
  ),
});

export const backups = defineCommand({
  meta: { name: "backups", description: "List a tenant's backups (from state.db, or --bucket's objects); --delete removes one" },
  args: {
    ...commonArgs,
    id: { type: "positional", required: true, description: "tenant id" },
    bucket: { type: "string", description: "list the objects under the tenant's prefix in this bucket instead" },
    delete: { type: "string", description: "delete this backup (its record, and its archive if the location still holds it)" },
  },
  run: action<CommonArgs & { id: string; bucket?: string; delete?: string }>((args) =>
    withCore(args, async (core) => {
      if (args.delete) {
        const r = await core.backups.delete(args.delete, operator(core), args.id);
        emit(args, r, () => line(r.objectDeleted ? `✓ deleted backup ${r.backupId} (${r.location})` : `✓ deleted the record of backup ${r.backupId}; ${r.location} no longer holds that archive and was left alone`));
        return;
      }
      if (args.bucket) {
        const objects = await core.backups.listBucket(args.id, args.bucket);
        emit(args, { objects }, () => {
          if (objects.length === 0) line("no objects");
          for (const o of objects) line(`${o.lastModified ?? "?"}  ${mb(o.sizeBytes).padStart(10)}  ${o.location}`);
        });
        return;
      }
      core.tenants.get(args.id);
      const list = core.backups.list(args.id);
      emit(args, { backups: list }, () => {
        if (list.length === 0) line("no backups");
        for (const b of list) line(`${b.createdAt}  ${b.backupId}  ${mb(b.sizeBytes).padStart(10)}${b.encrypted ? "  encrypted" : "           "}  ${b.location}`);
      });
    }),
  ),
});
