// Deciding what a delete or a prune may remove. A backup record points at an object; that object is
// removed only while it is still the archive the record describes: no other record points at the
// same place, and the object there is ours (S3: the size recorded and, for archives written since
// records carried it, our backup id in the object's metadata; a file: a regular file reached without
// any link, of the size recorded, starting like one of our archives). Otherwise only the record goes.
import type { GatewayConfig } from "../../config/schema.ts";
import { AppError } from "../../core/errors.ts";
import type { BackupRow } from "./backup.sql.ts";
import { parseLocation } from "./location.ts";
import { headObject } from "./storage.ts";
import { confineLocalFile, isOurArchive } from "./targets.ts";

/** The S3 object metadata that names the backup an object holds. */
export const BACKUP_ID_META = "openclaw-backup-id";

/** Why the object at a record's location must be left alone, or null if it is the record's archive. */
export async function objectNotOurs(config: GatewayConfig, home: string, b: BackupRow, sharedWith: number): Promise<string | null> {
  if (sharedWith > 0) return "another backup record points at the same location";
  const l = parseLocation(b.location);
  if (l.kind === "s3") {
    const head = await headObject(config, l.bucket, l.key);
    if (!head) return "the object is gone";
    if (head.size !== b.sizeBytes) return `the object is ${head.size} bytes, not the ${b.sizeBytes} recorded`;
    const id = head.metadata[BACKUP_ID_META];
    if (id !== undefined && id !== b.id) return "the object holds another backup";
    return null;
  }
  let f: ReturnType<typeof confineLocalFile>;
  try {
    f = confineLocalFile(home, l.path, "backup");
  } catch (err) {
    return err instanceof AppError ? err.message : String(err);
  }
  try {
    if (!f.existing) return "the file is gone";
    if (f.existing.size !== b.sizeBytes) return `the file is ${f.existing.size} bytes, not the ${b.sizeBytes} recorded`;
    if (!(await isOurArchive(f.via))) return "the file is not an openclaw backup";
    return null;
  } finally {
    f.close();
  }
}

/**
 * Which of a tenant's own backups (newest first) to prune so that at most `maxCount` remain and they
 * hold at most `maxBytes` in all: the newest that fit are kept, everything older than the first that
 * does not fit goes. `keepId` (the one just made) is never pruned.
 */
export function overCaps(rows: BackupRow[], keepId: string, maxCount: number, maxBytes: number): BackupRow[] {
  const out: BackupRow[] = [];
  let count = 0;
  let bytes = 0;
  let full = false;
  for (const r of rows) {
    if (r.id !== keepId && (full || count >= maxCount || bytes + r.sizeBytes > maxBytes)) {
      full = true;
      out.push(r);
      continue;
    }
    count++;
    bytes += r.sizeBytes;
  }
  return out;
}
