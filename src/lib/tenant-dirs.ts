// The tenants' tree in the state directory: tenants/<id>/ (0700) and the directories each module
// keeps there (modules/module.ts: TenantData.dirs), and the trash a delete moves a directory to.
import fs from "node:fs";
import path from "node:path";
import { removePath } from "./tree-remove.ts";

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

/** Removals of trashed directories still running (in this process). */
const pending = new Map<string, Promise<void>>();

/**
 * Removes a trashed directory (or a restore's scratch copy) in the background, in time slices
 * (./tree-remove.ts): a tenant's tree may be any size or depth (a sandbox shaped it), and neither a
 * request nor the gateway's start may wait for it. What is in the trash is out of every tenant's
 * reach already; a removal the process did not finish is finished by the next start (emptyTrash).
 */
export function discardTree(dir: string, onError?: (err: unknown) => void): Promise<void> {
  const running = pending.get(dir);
  if (running) return running;
  const p: Promise<void> = removePath(dir)
    .then(
      () => {},
      (err) => onError?.(err),
    )
    .finally(() => pending.delete(dir));
  pending.set(dir, p);
  return p;
}

/**
 * Removes whatever earlier deletes left in the trash (e.g. a crash between commit and wipe), then the
 * trash itself, in time slices (discardTree); the gateway's start does not wait for it.
 */
export async function emptyTrash(home: string, onError?: (err: unknown) => void): Promise<void> {
  const trash = path.join(tenantsRoot(home), TRASH_DIR);
  let names: string[];
  try {
    names = fs.readdirSync(trash);
  } catch {
    return; // no trash
  }
  await Promise.all(names.map((n) => discardTree(path.join(trash, n), onError)));
  try {
    fs.rmdirSync(trash);
  } catch {
    // something was trashed meanwhile (its own removal is under way), or another removal won
  }
}

/** Resolves once every removal started so far has ended (the CLI waits for it before saying "wiped"). */
export async function trashDrained(): Promise<void> {
  while (pending.size > 0) await Promise.all([...pending.values()]);
}
