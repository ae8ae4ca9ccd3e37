// The tenants' tree in the state directory: tenants/<id>/ (0700) and the directories each module
// keeps there (modules/module.ts: TenantData.dirs), and the trash a delete moves a directory to.
import fs from "node:fs";
import path from "node:path";

export const TRASH_DIR = ".trash";

export function tenantsRoot(home: string): string {
  return path.join(home, "tenants");
}

export function tenantDir(home: string, id: string): string {
  return path.join(tenantsRoot(home), id);
}

/** Creates tenants/<id> and the given subdirectories; fails with EEXIST if the directory is already there. */
export function createTenantDirs(home: string, id: string, subdirs: readonly string[]): string {
  const root = tenantsRoot(home);
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  const dir = tenantDir(home, id);
  fs.mkdirSync(dir, { mode: 0o700 });
  for (const sub of subdirs) fs.mkdirSync(path.join(dir, sub), { mode: 0o700 });
  return dir;
}

/** Moves a tenant directory aside (atomic rename) so a delete can be undone until it commits. */
export function moveToTrash(home: string, id: string): string | null {
  const dir = tenantDir(home, id);
  if (!fs.existsSync(dir)) return null;
  const trash = path.join(tenantsRoot(home), TRASH_DIR);
  fs.mkdirSync(trash, { recursive: true, mode: 0o700 });
  const dest = path.join(trash, `${id}.${Date.now()}.${crypto.randomUUID().slice(0, 8)}`);
  fs.renameSync(dir, dest);
  return dest;
}

/** Removes whatever earlier deletes left in the trash (e.g. after a crash between commit and wipe). */
export function emptyTrash(home: string): void {
  const trash = path.join(tenantsRoot(home), TRASH_DIR);
  if (fs.existsSync(trash)) fs.rmSync(trash, { recursive: true, force: true });
}
