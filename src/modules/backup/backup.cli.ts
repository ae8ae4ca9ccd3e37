// `openclaw tenants backup | restore | backups`: tenant archives to and from S3 or files.
import path from "node:path";
import { CliError, commandsFor, commonArgs, type CliTree } from "../module-cli.ts";
import type { BackupService } from "./backup.service.ts";

/** A file path from the command line is taken relative to the working directory. */
function location(raw: string): string {
  return raw.startsWith("s3://") || /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : path.resolve(raw);
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

type Services = { backups: BackupService };
const command = commandsFor<Services>();

const backup = command({
  description: "Back a tenant up: its directory and its rows, tar + zstd (encrypted if backup.encryptionKey is set)",
  args: {
    ...commonArgs,
    id: { type: "positional", required: true, description: "tenant id" },
    to: { type: "string", required: true, description: "s3://bucket/ (key generated under tenants/<id>/), s3://bucket/<prefix>tenants/<id>/key, or a file path outside the home" },
    keep: { type: "string", description: "then keep only the newest N backups of this tenant" },
    force: { type: "boolean", description: "overwrite an existing file" },
  },
  async run({ backups }, args, io) {
    let keep: number | undefined;
    if (args.keep !== undefined) {
      keep = Number(args.keep);
      if (!Number.isInteger(keep) || keep < 1) throw new CliError("--keep must be a whole number of at least 1");
    }
    const progress = io.progress(`backup ${args.id}`);
    try {
      const r = await backups.backup(io.operator.tenant(args.id), location(args.to), io.operator, { origin: "operator", keep, overwrite: args.force, onProgress: progress.update });
      progress.end();
      io.emit(r, () => {
        io.line(`✓ backed up tenant ${r.tenantId}: ${r.files} files, ${mb(r.contentBytes)} → ${mb(r.sizeBytes)}${r.encrypted ? " (encrypted)" : ""}`);
        io.line(`  ${r.location}`);
        io.line(`  backup ${r.backupId} · sha256 ${r.sha256}`);
        for (const s of r.skipped) io.line(`  skipped ${s.path} (${s.kind}: only files and directories are backed up)`);
        if (r.pruned.length) io.line(`  deleted ${r.pruned.length} older backup(s) (--keep ${keep})`);
      });
    } finally {
      progress.end();
    }
  },
});

const restore = command({
  description: "Restore a tenant from a backup (refused, changing nothing, if anything in the archive is wrong)",
  args: {
    ...commonArgs,
    from: { type: "string", required: true, description: "s3://bucket/key or a file path" },
    as: { type: "string", description: "restore under this new tenant id, with a new token (shown once)" },
    force: { type: "boolean", description: "replace an existing tenant, atomically" },
  },
  async run({ backups }, args, io) {
    const progress = io.progress("restore");
    try {
      // The CLI process does nothing else: it may stop for full collections to keep its memory low.
      const r = await backups.restore(location(args.from), io.operator, { as: args.as, force: args.force, onProgress: progress.update, fullCollections: true });
      progress.end();
      io.emit(r, () => {
        io.line(`✓ restored tenant ${r.tenantId}${r.sourceTenant !== r.tenantId ? ` (from ${r.sourceTenant})` : ""}: ${r.files} files${r.replaced ? ", replacing the existing tenant" : ""}`);
        io.line(`  backup taken ${r.createdAt} · archive sha256 ${r.archiveSha256}`);
        if (r.token) {
          io.line("");
          io.line(`  Token (shown once, store it now): ${r.token}`);
        } else io.line("  the tenant's token from the backup works again");
      });
    } finally {
      progress.end();
    }
  },
});

const list = command({
  description: "List a tenant's backups (from state.db, or --bucket's objects); --delete removes one",
  args: {
    ...commonArgs,
    id: { type: "positional", required: true, description: "tenant id" },
    bucket: { type: "string", description: "list the objects under the tenant's prefix in this bucket instead" },
    delete: { type: "string", description: "delete this backup (its record, and its archive if the location still holds it)" },
  },
  async run({ backups }, args, io) {
    if (args.delete) {
      const r = await backups.delete(args.delete, io.operator, io.operator.tenant(args.id));
      io.emit(r, () => io.line(r.objectDeleted ? `✓ deleted backup ${r.backupId} (${r.location})` : `✓ deleted the record of backup ${r.backupId}; ${r.location} no longer holds that archive and was left alone`));
      return;
    }
    if (args.bucket) {
      // The id may be one no tenant has now: its earlier incarnations' archives are listed then.
      const objects = await backups.listBucket(args.id, args.bucket);
      io.emit({ objects }, () => {
        if (objects.length === 0) io.line("no objects");
        for (const o of objects) io.line(`${o.lastModified ?? "?"}  ${mb(o.sizeBytes).padStart(10)}  ${o.location}`);
      });
      return;
    }
    const all = backups.list(io.operator.tenant(args.id));
    io.emit({ backups: all }, () => {
      if (all.length === 0) io.line("no backups");
      for (const b of all) io.line(`${b.createdAt}  ${b.backupId}  ${mb(b.sizeBytes).padStart(10)}${b.encrypted ? "  encrypted" : "           "}  ${b.location}`);
    });
  },
});

export const backupCli: CliTree<Services> = {
  tenants: { commands: { backup, restore, backups: list } },
};
