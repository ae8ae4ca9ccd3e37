// The tenant's workspace, /work inside its sandboxes: a real directory inside the tenant root, owned
// by the identity sandboxed code runs as.
import fs from "node:fs";
import path from "node:path";
import { AppError } from "../../core/errors.ts";
import { DIR_NOFOLLOW, fdPath } from "../../lib/confined-dir.ts";
import { tenantDir } from "../../lib/tenant-dirs.ts";
import { MAX_TREE_DEPTH, walkTree } from "../../lib/tree-walk.ts";
import { resolveInRoot } from "../paths/path-resolver.ts";
import { sandboxIdentity, type HostProbe } from "./host.ts";

/** The workspace's path, made if missing (never through a symbolic link), handed to the sandbox identity. */
export function workspaceFor(home: string, tenantId: string, host: HostProbe): string {
  const root = tenantDir(home, tenantId);
  const r = resolveInRoot(root, "workspace", { leaf: "nofollow" });
  if (!r.exists) fs.mkdirSync(r.absolute, { mode: 0o700 });
  else if (r.kind !== "directory") throw new AppError("CONFIG_INVALID", "the tenant's workspace is not a directory");
  const st = fs.lstatSync(r.absolute);
  if (host.identity.viaStage && (st.uid !== host.identity.uid || st.gid !== host.identity.gid)) fs.chownSync(r.absolute, host.identity.uid, host.identity.gid);
  return r.absolute;
}

/** Hands a whole workspace (restored from a backup, say) to the sandbox identity, so sandboxed code can use it. */
export function adoptWorkspace(home: string, tenantId: string): void {
  const id = sandboxIdentity();
  if (id.viaStage) chownTree(path.join(tenantDir(home, tenantId), "workspace"), id.uid, id.gid);
}

/**
 * By descriptor, iteratively (lib/tree-walk.ts): a restored tree may be MAX_TREE_DEPTH levels deep
 * with paths longer than PATH_MAX. Links are changed themselves (never followed); the restore checked
 * the depth, and the walk stops at it all the same.
 */
function chownTree(root: string, uid: number, gid: number): void {
  let rootFd: number;
  try {
    rootFd = fs.openSync(root, DIR_NOFOLLOW);
  } catch {
    return; // no workspace
  }
  try {
    fs.fchownSync(rootFd, uid, gid);
    for (const e of walkTree(rootFd, { maxDepth: MAX_TREE_DEPTH })) fs.lchownSync(fdPath(e.dirFd, e.name), uid, gid);
  } finally {
    fs.closeSync(rootFd);
  }
}
